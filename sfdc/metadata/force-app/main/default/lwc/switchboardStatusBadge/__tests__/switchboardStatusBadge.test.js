import { createElement } from 'lwc';
import SwitchboardStatusBadge from 'c/switchboardStatusBadge';

async function render(props) {
    const element = createElement('c-switchboard-status-badge', { is: SwitchboardStatusBadge });
    Object.assign(element, props);
    document.body.appendChild(element);
    await Promise.resolve();
    return element.shadowRoot.querySelector('lightning-badge');
}

describe('c-switchboard-status-badge', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    // Every Message_Status__c value of SPEC §1 and the theme it gets.
    it.each([
        ['Pending', ''],
        ['Queued', 'slds-theme_info'],
        ['Sending', 'slds-theme_info'],
        ['Sent', 'slds-theme_info'],
        ['Delivered', 'slds-theme_success'],
        ['Read', 'slds-theme_success'],
        ['Failed', 'slds-theme_error'],
        ['Undelivered', 'slds-theme_error'],
        ['Error', 'slds-theme_error'],
        ['Received', ''],
        ['Canceled', 'slds-theme_shade']
    ])('%s', async (status, theme) => {
        const badge = await render({ status });
        expect(badge.label).toBe(status);
        expect(badge.className).toBe(theme);
        await expect(badge.parentNode.host).toBeAccessible();
    });

    it('shows the picklist label when it has one', async () => {
        const badge = await render({ status: 'Delivered', label: 'Zugestellt' });
        expect(badge.label).toBe('Zugestellt');
        expect(badge.dataset.status).toBe('Delivered');
    });

    it('shows nothing without a status', async () => {
        expect(await render({})).toBeNull();
    });
});
