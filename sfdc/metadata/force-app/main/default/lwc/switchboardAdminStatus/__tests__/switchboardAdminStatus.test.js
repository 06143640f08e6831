import { createElement } from 'lwc';
import SwitchboardAdminStatus from 'c/switchboardAdminStatus';
import { graphql } from 'lightning/graphql';
import { createRecord } from 'lightning/uiRecordApi';

const twoInstances = require('./data/statusTwoInstances.json');
const orgComplete = require('./data/orgComplete.json');
const emptyOrg = require('./data/emptyOrg.json');

const NOW = Date.parse('2026-12-03T14:00:00.000Z');

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

function mount() {
    const element = createElement('c-switchboard-admin-status', { is: SwitchboardAdminStatus });
    document.body.appendChild(element);
    return element;
}

function texts(element, selector) {
    return [...element.shadowRoot.querySelectorAll(selector)].map((e) => e.textContent);
}

describe('c-switchboard-admin-status', () => {
    beforeEach(() => {
        jest.spyOn(Date, 'now').mockReturnValue(NOW);
    });
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
        jest.restoreAllMocks();
    });

    it('shows each instance, a red Stale badge after three missed heartbeats, and failing checks with their fix', async () => {
        const element = mount();
        graphql.emit(twoInstances);
        await flush();

        const instances = element.shadowRoot.querySelectorAll('li.instance');
        expect(instances).toHaveLength(2);
        const [a, b] = instances;
        // 2 min old with a 5 min interval: live. 20 min old: more than 3 × 5 min, stale.
        expect(a.querySelector('lightning-badge').label).toBe('c.SB_Admin_Status_Live');
        expect(a.querySelector('lightning-badge.stale')).toBeNull();
        expect(b.querySelector('lightning-badge.stale').label).toBe('c.SB_Admin_Status_Stale');
        expect(b.querySelector('lightning-badge.stale').classList).toContain('slds-theme_error');

        expect(b.querySelector('.version').textContent).toBe('1.3.2');
        expect(b.querySelector('.stream').textContent).toBe('c.SB_Admin_Status_Not_Subscribed');
        expect(a.querySelector('.stream').textContent).toBe('c.SB_Admin_Status_Subscribed');
        expect(b.querySelector('.backlog').textContent).toBe('118');
        expect(b.querySelector('.dead-letters').textContent).toBe('4');

        expect(a.querySelector('.failing')).toBeNull();
        expect([...b.querySelectorAll('.failing-check')].map((e) => e.textContent)).toEqual([
            'PushTopic SwitchboardTasks missing: run `switchboard setup`',
            'Twilio account AC0123456789abcdef0123456789abcdef: 20003 Authenticate: set SWITCHBOARD_TWILIO_AUTH_TOKEN'
        ]);
        expect(b.querySelector('.failing').getAttribute('role')).toBe('alert');
        expect(a.querySelectorAll('.passing-check')).toHaveLength(3);

        await expect(element).toBeAccessible();
    });

    it('turns stale exactly after three intervals', async () => {
        const element = mount();
        // a: last heartbeat 13:58, interval 300 s → stale after 14:13:00.
        Date.now.mockReturnValue(Date.parse('2026-12-03T14:13:00.000Z'));
        graphql.emit(twoInstances);
        await flush();
        expect(element.shadowRoot.querySelectorAll('li.instance')[0].querySelector('lightning-badge.stale')).toBeNull();

        Date.now.mockReturnValue(Date.parse('2026-12-03T14:13:00.001Z'));
        graphql.emit(JSON.parse(JSON.stringify(twoInstances)));
        await flush();
        expect(element.shadowRoot.querySelectorAll('li.instance')[0].querySelector('lightning-badge.stale')).not.toBeNull();
    });

    it('lists what the org lacks and creates exactly the missing default External Channels', async () => {
        const refresh = jest.fn().mockResolvedValue();
        createRecord.mockImplementation((input) => Promise.resolve({ id: `a03new${input.fields.Name}` }));
        const element = mount();
        const toasts = [];
        element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
        graphql.emit(twoInstances, undefined, refresh);
        await flush();

        expect(texts(element, '.missing-item')).toEqual([
            'c.SB_Admin_Status_Missing_External_Channel',
            'c.SB_Admin_Status_Missing_External_Channel',
            'c.SB_Admin_Status_Missing_External_Channel',
            'c.SB_Admin_Status_Missing_Active_Channel'
        ]);
        expect(element.shadowRoot.querySelector('.need-channel-type')).toBeNull();
        await expect(element).toBeAccessible();

        element.shadowRoot.querySelector('lightning-button.create-defaults').click();
        await flush();

        // Contact.MobilePhone and Lead.Phone exist: only the other three are created.
        expect(createRecord.mock.calls.map((c) => c[0])).toEqual([
            {
                apiName: 'External_Channel__c',
                fields: { Name: 'Contact_Phone', Object_API_Name__c: 'Contact', Field_API_Name__c: 'Phone', Channel_Type__c: 'a01Hn00000ZyXwVIAR' }
            },
            {
                apiName: 'External_Channel__c',
                fields: { Name: 'Lead_MobilePhone', Object_API_Name__c: 'Lead', Field_API_Name__c: 'MobilePhone', Channel_Type__c: 'a01Hn00000ZyXwVIAR' }
            },
            {
                apiName: 'External_Channel__c',
                fields: { Name: 'Account_Phone', Object_API_Name__c: 'Account', Field_API_Name__c: 'Phone', Channel_Type__c: 'a01Hn00000ZyXwVIAR' }
            }
        ]);
        expect(toasts).toHaveLength(1);
        expect(toasts[0].variant).toBe('success');
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('reports a default the org refused and still creates the others', async () => {
        createRecord.mockImplementation((input) => {
            if (input.fields.Name !== 'Lead_MobilePhone') return Promise.resolve({ id: 'a03Hn00000NeWwWIAR' });
            return Promise.reject({
                      status: 400,
                      body: {
                          message: 'An error occurred while trying to update the record. Please try again.',
                          output: { errors: [], fieldErrors: { Field_API_Name__c: [{ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Enter both the object and the phone field, e.g. Contact and MobilePhone.' }] } }
                      }
                  });
        });
        const element = mount();
        const toasts = [];
        element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
        graphql.emit(twoInstances, undefined, jest.fn().mockResolvedValue());
        await flush();
        element.shadowRoot.querySelector('lightning-button.create-defaults').click();
        await flush();

        expect(createRecord).toHaveBeenCalledTimes(3);
        expect(toasts.map((t) => t.variant)).toEqual(['success', 'error']);
        expect(toasts[1].message).toBe('c.SB_Admin_Status_Create_Failed');
    });

    it('says a Channel Type is needed, and creates nothing, when none exists', async () => {
        const element = mount();
        graphql.emit(emptyOrg);
        await flush();

        expect(element.shadowRoot.querySelector('.no-instances')).not.toBeNull();
        expect(texts(element, '.missing-item')).toHaveLength(7);
        expect(element.shadowRoot.querySelector('.need-channel-type').textContent).toBe('c.SB_Admin_Status_Need_Channel_Type');
        const button = element.shadowRoot.querySelector('lightning-button.create-defaults');
        expect(button.disabled).toBe(true);
        button.click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        await expect(element).toBeAccessible();
    });

    it('says nothing is missing once the defaults, an active channel and a template exist', async () => {
        const element = mount();
        graphql.emit(orgComplete);
        await flush();
        expect(element.shadowRoot.querySelector('.setup-complete')).not.toBeNull();
        expect(element.shadowRoot.querySelector('lightning-button.create-defaults')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('shows a query error', async () => {
        const element = mount();
        graphql.emitErrors([{ message: 'Field Switchboard_Status__c is not accessible' }]);
        await flush();
        expect(element.shadowRoot.querySelector('.load-error').textContent).toBe('Field Switchboard_Status__c is not accessible');
        await expect(element).toBeAccessible();
    });
});
