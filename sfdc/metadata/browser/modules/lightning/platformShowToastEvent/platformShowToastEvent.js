// lightning/platformShowToastEvent: the same event as the platform's
// (lightning__showtoast, bubbling and composed); sbx/page shows it.
export class ShowToastEvent extends CustomEvent {
    constructor(config) {
        super('lightning__showtoast', { bubbles: true, cancelable: true, composed: true, detail: config || {} });
    }
}
