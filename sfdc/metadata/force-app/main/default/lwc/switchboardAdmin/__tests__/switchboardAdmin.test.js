import { createElement } from 'lwc';
import SwitchboardAdmin from 'c/switchboardAdmin';
import { graphql } from 'lightning/graphql';

const statusData = require('../../switchboardAdminStatus/__tests__/data/statusTwoInstances.json');

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

describe('c-switchboard-admin', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('puts each section in its own tab, in the order of the design', async () => {
        const element = createElement('c-switchboard-admin', { is: SwitchboardAdmin });
        document.body.appendChild(element);
        await flush();
        const tabs = [...element.shadowRoot.querySelectorAll('lightning-tab')];
        expect(tabs.map((t) => t.label)).toEqual([
            'c.SB_Admin_Tab_Status',
            'c.SB_Admin_Tab_Channels',
            'c.SB_Admin_External_Channels',
            'c.SB_Admin_Tab_Templates'
        ]);
        expect(tabs.map((t) => t.firstElementChild.tagName.toLowerCase())).toEqual([
            'c-switchboard-admin-status',
            'c-switchboard-admin-channels',
            'c-switchboard-admin-external-channels',
            'c-switchboard-admin-templates'
        ]);
        await expect(element).toBeAccessible();
    });

    it('stays accessible with every section showing data', async () => {
        jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-12-03T14:00:00.000Z'));
        const element = createElement('c-switchboard-admin', { is: SwitchboardAdmin });
        document.body.appendChild(element);
        // Every section's graphql wire hears this; each reads its own part.
        graphql.emit({ uiapi: { query: { ...statusData.uiapi.query, Message_Template__c: { edges: [] } } } });
        await flush();
        const status = element.shadowRoot.querySelector('c-switchboard-admin-status');
        expect(status.shadowRoot.querySelectorAll('li.instance')).toHaveLength(2);
        await expect(element).toBeAccessible();
        jest.restoreAllMocks();
    });
});
