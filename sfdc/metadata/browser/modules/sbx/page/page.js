// The page side of the platform stand-ins: toasts (ShowToastEvent is only
// an event; Lightning Experience draws it) and the navigation log, plus
// mount() to put a component on the page.
import { createElement } from 'lwc';

const ICON = { success: 'success', error: 'error', warning: 'warning', info: 'info' };

// The page runtime draws on the page itself, outside any component.
function toastRegion() {
    // eslint-disable-next-line @lwc/lwc/no-document-query
    let region = document.getElementById('sbx-toasts');
    if (!region) {
        region = document.createElement('div');
        region.id = 'sbx-toasts';
        region.className = 'slds-notify_container slds-is-fixed';
        region.setAttribute('role', 'status');
        // SLDS lines toasts up side by side (inline-flex); Lightning
        // Experience stacks them, newest last, centred.
        Object.assign(region.style, { display: 'flex', flexDirection: 'column', alignItems: 'center' });
        document.body.appendChild(region);
    }
    return region;
}

// showToast renders SLDS toast markup; sticky toasts stay until closed,
// the others go after 4.8 s (the platform's dismissible default is 3 s
// plus 1.8 s per line; one line here).
export function showToast(detail) {
    const variant = ICON[detail.variant] || 'info';
    const toast = document.createElement('div');
    toast.className = 'slds-notify slds-notify_toast slds-theme_' + variant;
    toast.setAttribute('data-variant', variant);
    const body = document.createElement('div');
    body.className = 'slds-notify__content';
    const title = document.createElement('h2');
    title.className = 'slds-text-heading_small';
    title.textContent = detail.title || detail.label || '';
    const msg = document.createElement('p');
    let text = detail.message || '';
    (detail.messageData || []).forEach((d, i) => {
        text = text.replace('{' + i + '}', typeof d === 'string' ? d : d.label || '');
    });
    msg.textContent = text;
    body.append(title, msg);
    const close = document.createElement('button');
    close.className = 'slds-button slds-button_icon slds-notify__close slds-button_icon-inverse';
    close.title = 'Close';
    close.textContent = '×';
    close.addEventListener('click', () => toast.remove());
    toast.append(body, close);
    toastRegion().appendChild(toast);
    if (detail.mode !== 'sticky') {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        setTimeout(() => toast.remove(), 4800);
    }
}

export const navigations = [];

export function install() {
    window.addEventListener('lightning__showtoast', (e) => showToast(e.detail || {}));
    window.addEventListener('sbx:navigate', (e) => {
        navigations.push(e.detail);
        console.info('navigate', e.detail.url);
    });
}

// mount creates the component registered under tag, sets its public
// properties and appends it to target.
export function mount(components, tag, target, props) {
    const ctor = components[tag];
    if (!ctor) {
        throw new Error('no component ' + tag + ' in this bundle; it has ' + Object.keys(components).join(', '));
    }
    const el = createElement(tag, { is: ctor });
    Object.assign(el, props || {});
    target.appendChild(el);
    return el;
}
