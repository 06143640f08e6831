import { createElement } from 'lwc';
import SwitchboardAdminChannels from 'c/switchboardAdminChannels';
import { graphql } from 'lightning/graphql';
import { createRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';

const channels = require('./data/channels.json');
const objectInfo = require('./data/channelTypeObjectInfo.json');
const providers = require('./data/providerPicklist.json');

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

async function mount(data = channels) {
    const element = createElement('c-switchboard-admin-channels', { is: SwitchboardAdminChannels });
    document.body.appendChild(element);
    const refresh = jest.fn().mockResolvedValue();
    const toasts = [];
    element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
    graphql.emit(data, undefined, refresh);
    // The test adapters' emit() is how wire data reaches the component in jest.
     
    getObjectInfo.emit(objectInfo);
     
    getPicklistValues.emit(providers);
    await flush();
    return { element, refresh, toasts };
}

function form(element, which) {
    return element.shadowRoot.querySelector(`c-switchboard-admin-form.${which}`);
}

// Types into the form the way a user does: each input fires change.
function type(formEl, values) {
    Object.entries(values).forEach(([name, value]) => {
        const input = formEl.shadowRoot.querySelector(`[data-name="${name}"]`);
        if (input.type === 'checkbox') {
            input.checked = value;
            input.dispatchEvent(new CustomEvent('change', { detail: { checked: value } }));
        } else {
            input.value = value;
            input.dispatchEvent(new CustomEvent('change', { detail: { value } }));
        }
    });
}

function save(formEl) {
    formEl.shadowRoot.querySelector('lightning-button.save').click();
}

function shownErrors(formEl) {
    return [...formEl.shadowRoot.querySelectorAll('.errors li')].map((li) => li.textContent);
}

describe('c-switchboard-admin-channels', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('lists Channel Types and Channels from GraphQL', async () => {
        const { element } = await mount();
        const types = element.shadowRoot.querySelector('lightning-datatable.channel-types');
        expect(types.data.map((t) => [t.Name, t.Account_Sid__c, t.Provider__c])).toEqual([
            ['Twilio US', 'AC0123456789abcdef0123456789abcdef', 'Twilio SMS']
        ]);
        const list = element.shadowRoot.querySelector('lightning-datatable.channels');
        expect(list.data.map((c) => [c.Name, c.Phone_Number__c, c.Messaging_Service_Sid__c, c.channelTypeName, c.Active__c])).toEqual([
            ['Support US', '+14155550100', null, 'Twilio US', true],
            ['Marketing', null, 'MG0123456789abcdef0123456789abcdef', 'Twilio US', false]
        ]);
        // The row action offered follows the row's state.
        const rowActions = list.columns.find((c) => c.type === 'action').typeAttributes.rowActions;
        const offered = [];
        rowActions(list.data[0], (a) => offered.push(a.map((x) => x.name)));
        rowActions(list.data[1], (a) => offered.push(a.map((x) => x.name)));
        expect(offered).toEqual([
            ['edit', 'deactivate'],
            ['edit', 'activate']
        ]);
        await expect(element).toBeAccessible();
    });

    it('rejects a Channel with a number not in E.164 and a bad MG SID, inline and as a toast, and saves nothing', async () => {
        const { element, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-channel').click();
        await flush();
        const f = form(element, 'channel-form');
        type(f, { Name: 'Sales', Phone_Number__c: '(415) 555-0100', Messaging_Service_Sid__c: 'MG123' });
        const inline = {};
        f.shadowRoot.querySelectorAll('[data-name]').forEach((input) => {
            input.setCustomValidity = (m) => {
                inline[input.dataset.name] = m;
            };
        });
        save(f);
        await flush();

        expect(createRecord).not.toHaveBeenCalled();
        expect(inline).toMatchObject({
            Phone_Number__c: 'c.SB_Admin_Error_E164',
            Messaging_Service_Sid__c: 'c.SB_Admin_Error_Messaging_Service_Sid',
            Name: ''
        });
        expect(shownErrors(f)).toEqual([
            'c.SB_Admin_Field_Phone_Number: c.SB_Admin_Error_E164',
            'c.SB_Admin_Field_Messaging_Service_Sid: c.SB_Admin_Error_Messaging_Service_Sid'
        ]);
        expect(toasts).toEqual([{ title: 'c.SB_Admin_Channels', message: 'c.SB_Admin_Not_Saved', variant: 'error' }]);
        await expect(element).toBeAccessible();
    });

    it('rejects a Channel with neither number nor Messaging Service', async () => {
        const { element } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-channel').click();
        await flush();
        const f = form(element, 'channel-form');
        type(f, { Name: 'Empty' });
        save(f);
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(shownErrors(f)).toEqual(['c.SB_Admin_Field_Phone_Number: c.SB_Admin_Error_Sender_Required']);
    });

    it('creates a valid Channel with exactly the typed fields, then refreshes the list', async () => {
        createRecord.mockResolvedValue({ id: 'a02Hn00000ChAnNIAR' });
        const { element, refresh, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-channel').click();
        await flush();
        const f = form(element, 'channel-form');
        type(f, { Name: ' Sales ', Phone_Number__c: '+442071838750', Queue_Name__c: 'Sales_Queue' });
        save(f);
        await flush();

        // The only Channel Type is preselected; Active defaults to on; empty fields are left out.
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Channel__c',
            fields: {
                Name: 'Sales',
                Phone_Number__c: '+442071838750',
                Queue_Name__c: 'Sales_Queue',
                Channel_Type__c: 'a01Hn00000ZyXwVIAR',
                Active__c: true
            }
        });
        expect(toasts.map((t) => t.variant)).toEqual(['success']);
        expect(refresh).toHaveBeenCalledTimes(1);
        expect(form(element, 'channel-form')).toBeNull();
    });

    it('edits a Channel: the update carries the Id and clears an emptied field', async () => {
        const { element } = await mount();
        const list = element.shadowRoot.querySelector('lightning-datatable.channels');
        list.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: 'edit' }, row: list.data[0] } }));
        await flush();
        const f = form(element, 'channel-form');
        type(f, { Queue_Name__c: '', Messaging_Service_Sid__c: 'MG0123456789abcdef0123456789abcdef' });
        save(f);
        await flush();
        expect(updateRecord).toHaveBeenCalledWith({
            fields: {
                Id: 'a02Hn00000ChAnLIAR',
                Name: 'Support US',
                Phone_Number__c: '+14155550100',
                Messaging_Service_Sid__c: 'MG0123456789abcdef0123456789abcdef',
                Queue_Name__c: null,
                Channel_Type__c: 'a01Hn00000ZyXwVIAR',
                Active__c: true
            }
        });
    });

    it('deactivates and activates a Channel from its row', async () => {
        const { element, refresh, toasts } = await mount();
        const list = element.shadowRoot.querySelector('lightning-datatable.channels');
        list.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: 'deactivate' }, row: list.data[0] } }));
        await flush();
        list.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: 'activate' }, row: list.data[1] } }));
        await flush();
        expect(updateRecord.mock.calls.map((c) => c[0])).toEqual([
            { fields: { Id: 'a02Hn00000ChAnLIAR', Active__c: false } },
            { fields: { Id: 'a02Hn00000ChAnMIAR', Active__c: true } }
        ]);
        expect(toasts.map((t) => t.message)).toEqual(['c.SB_Admin_Channel_Deactivated', 'c.SB_Admin_Channel_Activated']);
        expect(refresh).toHaveBeenCalledTimes(2);
    });

    it('rejects a Channel Type whose Account SID is not AC + 32 hex, and a length over 1600', async () => {
        const { element } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-channel-type').click();
        await flush();
        const f = form(element, 'type-form');
        type(f, { Name: 'EU', Account_Sid__c: 'AC0123456789ABCDEF0123456789ABCDEF', Max_Message_Length__c: '5000' });
        save(f);
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(shownErrors(f)).toEqual([
            'c.SB_Admin_Field_Account_Sid: c.SB_Admin_Error_Account_Sid',
            'c.SB_Admin_Field_Max_Message_Length: c.SB_Admin_Error_Max_Length'
        ]);
        await expect(element).toBeAccessible();
    });

    it('creates a Channel Type with the provider from the picklist and the length as a number', async () => {
        createRecord.mockResolvedValue({ id: 'a01Hn00000ZyXwWIAR' });
        const { element, refresh } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-channel-type').click();
        await flush();
        const f = form(element, 'type-form');
        expect(f.shadowRoot.querySelector('[data-name="Provider__c"]').options).toEqual([
            { label: 'Twilio SMS', value: 'Twilio SMS' },
            { label: 'Twilio WhatsApp', value: 'Twilio WhatsApp' }
        ]);
        type(f, { Name: 'WhatsApp EU', Account_Sid__c: 'ACfedcba9876543210fedcba9876543210', Provider__c: 'Twilio WhatsApp', Max_Message_Length__c: '1000' });
        save(f);
        await flush();
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Channel_Type__c',
            fields: { Name: 'WhatsApp EU', Account_Sid__c: 'ACfedcba9876543210fedcba9876543210', Provider__c: 'Twilio WhatsApp', Max_Message_Length__c: 1000 }
        });
        expect(refresh).toHaveBeenCalled();
    });

    it('shows what a validation rule said when the org refuses the write', async () => {
        updateRecord.mockRejectedValueOnce({
            status: 400,
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: {
                    errors: [],
                    fieldErrors: {
                        Phone_Number__c: [
                            {
                                constituentField: null,
                                duplicateRecordError: null,
                                errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
                                field: 'Phone_Number__c',
                                fieldLabel: 'Phone Number',
                                message: 'Phone Number must be in E.164 format: + then the country code and number, digits only, e.g. +14155550100.'
                            }
                        ]
                    }
                }
            }
        });
        const { element, toasts } = await mount();
        const list = element.shadowRoot.querySelector('lightning-datatable.channels');
        list.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name: 'edit' }, row: list.data[0] } }));
        await flush();
        const f = form(element, 'channel-form');
        save(f);
        await flush();
        expect(toasts[0].variant).toBe('error');
        expect(toasts[0].message).toBe('Phone Number must be in E.164 format: + then the country code and number, digits only, e.g. +14155550100.');
        expect(shownErrors(f)).toEqual([
            'c.SB_Admin_Field_Phone_Number: Phone Number must be in E.164 format: + then the country code and number, digits only, e.g. +14155550100.'
        ]);
    });

    it('asks for a Channel Type before a Channel', async () => {
        const { element } = await mount({ uiapi: { query: { Channel_Type__c: { edges: [] }, Channel__c: { edges: [] } } } });
        expect(element.shadowRoot.querySelector('.need-type')).not.toBeNull();
        expect(element.shadowRoot.querySelector('lightning-button.new-channel').disabled).toBe(true);
        await expect(element).toBeAccessible();
    });
});
