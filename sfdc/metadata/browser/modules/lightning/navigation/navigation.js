// lightning/navigation for the demo: Navigate and GenerateUrl hand the
// page reference to the page (a "sbx:navigate" window event), which logs or
// follows it; there is no Lightning Experience router here.
const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

export function pageReferenceUrl(ref) {
    const a = (ref && ref.attributes) || {};
    const parts = [ref && ref.type, a.objectApiName, a.recordId, a.actionName || a.apiName].filter(Boolean);
    return '#/' + parts.map(encodeURIComponent).join('/');
}

export const NavigationMixin = (Base) =>
    class extends Base {
        [Navigate](pageReference, replace) {
            window.dispatchEvent(new CustomEvent('sbx:navigate', { detail: { pageReference, replace: !!replace, url: pageReferenceUrl(pageReference) } }));
        }
        [GenerateUrl](pageReference) {
            return Promise.resolve(pageReferenceUrl(pageReference));
        }
    };
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

// CurrentPageReference is a wire adapter giving the page's reference.
class CurrentPageReferenceAdapter {
    constructor(cb) {
        this.cb = cb;
    }
    connect() {
        this.cb({ type: 'standard__navItemPage', attributes: { apiName: 'Switchboard_Demo' }, state: {} });
    }
    update() {}
    disconnect() {}
}
export function CurrentPageReference() {}
CurrentPageReference.adapter = CurrentPageReferenceAdapter;
