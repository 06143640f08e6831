import { createElement } from 'lwc';
import SwitchboardAdminExternalChannels from 'c/switchboardAdminExternalChannels';
import { graphql } from 'lightning/graphql';
import { createRecord, deleteRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';
import LightningConfirm from 'lightning/confirm';

const externalChannels = require('./data/externalChannels.json');
const objectInfos = require('./data/objectInfos.json');

jest.mock('lightning/confirm', () => ({ __esModule: true, default: { open: jest.fn() } }));

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

async function mount() {
    const element = createElement('c-switchboard-admin-external-channels', { is: SwitchboardAdminExternalChannels });
    document.body.appendChild(element);
    const refresh = jest.fn().mockResolvedValue();
    const toasts = [];
    element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
    graphql.emit(externalChannels, undefined, refresh);
    await flush();
    // The test adapter's emit() is how wire data reaches the component in jest.
     
    getObjectInfos.emit(objectInfos);
    await flush();
    return { element, refresh, toasts };
}

function input(formEl, name) {
    return formEl.shadowRoot.querySelector(`[data-name="${name}"]`);
}

function pick(formEl, name, value) {
    const el = input(formEl, name);
    el.value = value;
    el.dispatchEvent(new CustomEvent('change', { detail: { value } }));
}

function rowAction(element, name, index) {
    const table = element.shadowRoot.querySelector('lightning-datatable');
    table.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name }, row: table.data[index] } }));
}

describe('c-switchboard-admin-external-channels', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('lists External Channels, marks the defaults and offers no delete for them', async () => {
        const { element } = await mount();
        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data.map((r) => [r.Name, r.Object_API_Name__c, r.Field_API_Name__c, r.channelTypeName, r.isDefault])).toEqual([
            ['Contact_MobilePhone', 'Contact', 'MobilePhone', 'Twilio US', true],
            ['Contact_HomePhone', 'Contact', 'HomePhone', 'Twilio US', false],
            ['Patient_Mobile', 'Patient__c', 'Mobile__c', '', false]
        ]);
        const rowActions = table.columns.find((c) => c.type === 'action').typeAttributes.rowActions;
        const deletable = [];
        table.data.forEach((row) => rowActions(row, (actions) => deletable.push(!actions.find((a) => a.name === 'delete').disabled)));
        expect(deletable).toEqual([false, true, true]);
        // Objects asked for: the known ones plus the one a row already names.
         
        expect(getObjectInfos.getLastConfig()).toEqual({ objectApiNames: ['Contact', 'Lead', 'Account', 'Patient__c'] });
        await expect(element).toBeAccessible();
    });

    it('offers objects from object info and only the phone fields of the chosen object, and names the row after them', async () => {
        createRecord.mockResolvedValue({ id: 'a03Hn00000AbCd8IAB' });
        const { element, refresh, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-external-channel').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        expect(input(f, 'Object_API_Name__c').options.map((o) => o.value)).toEqual(['Account', 'Contact', 'Lead', 'Patient__c']);
        expect(input(f, 'Field_API_Name__c').options).toEqual([]);

        pick(f, 'Object_API_Name__c', 'Account');
        await flush();
        expect(input(f, 'Field_API_Name__c').options).toEqual([
            { label: 'Account Fax (Fax)', value: 'Fax' },
            { label: 'Account Phone (Phone)', value: 'Phone' }
        ]);
        pick(f, 'Field_API_Name__c', 'Fax');
        await flush();
        expect(input(f, 'Name').value).toBe('Account_Fax');
        await expect(element).toBeAccessible();

        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'External_Channel__c',
            fields: { Name: 'Account_Fax', Object_API_Name__c: 'Account', Field_API_Name__c: 'Fax', Channel_Type__c: 'a01Hn00000ZyXwVIAR' }
        });
        expect(toasts.map((t) => t.variant)).toEqual(['success']);
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('rejects a name with a space or a leading digit, inline and as a toast, and saves nothing', async () => {
        const { element, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-external-channel').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        pick(f, 'Object_API_Name__c', 'Lead');
        await flush();
        pick(f, 'Field_API_Name__c', 'Phone');
        pick(f, 'Name', 'Lead phone');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect([...f.shadowRoot.querySelectorAll('.errors li')].map((li) => li.textContent)).toEqual([
            'c.SB_Admin_Field_Name: c.SB_Admin_Error_External_Channel_Name'
        ]);
        expect(toasts).toEqual([{ title: 'c.SB_Admin_External_Channels', message: 'c.SB_Admin_Not_Saved', variant: 'error' }]);

        pick(f, 'Name', '2nd_Phone');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        await expect(element).toBeAccessible();
    });

    it('rejects a row without object and field', async () => {
        const { element } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-external-channel').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        pick(f, 'Name', 'Nothing');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect([...f.shadowRoot.querySelectorAll('.errors li')].map((li) => li.textContent)).toEqual([
            'c.SB_Admin_Field_Object: c.SB_Admin_Error_Required',
            'c.SB_Admin_Field_Phone_Field: c.SB_Admin_Error_Required'
        ]);
    });

    it('clones a row into a new record with its object, field and type', async () => {
        createRecord.mockResolvedValue({ id: 'a03Hn00000AbCd9IAB' });
        const { element } = await mount();
        rowAction(element, 'clone', 1);
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        expect(input(f, 'Field_API_Name__c').value).toBe('HomePhone');
        pick(f, 'Name', 'Contact_HomePhone_EU');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'External_Channel__c',
            fields: { Name: 'Contact_HomePhone_EU', Object_API_Name__c: 'Contact', Field_API_Name__c: 'HomePhone', Channel_Type__c: 'a01Hn00000ZyXwVIAR' }
        });
    });

    it('deletes a non-default row after confirmation', async () => {
        LightningConfirm.open.mockResolvedValue(true);
        const { element, refresh, toasts } = await mount();
        rowAction(element, 'delete', 1);
        await flush();
        expect(LightningConfirm.open).toHaveBeenCalledTimes(1);
        expect(deleteRecord).toHaveBeenCalledWith('a03Hn00000AbCd6IAB');
        expect(toasts.map((t) => t.variant)).toEqual(['success']);
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('keeps a row when the admin cancels the confirmation', async () => {
        LightningConfirm.open.mockResolvedValue(false);
        const { element } = await mount();
        rowAction(element, 'delete', 2);
        await flush();
        expect(deleteRecord).not.toHaveBeenCalled();
    });

    it('never deletes a default, even when asked', async () => {
        const { element, toasts } = await mount();
        rowAction(element, 'delete', 0);
        await flush();
        expect(LightningConfirm.open).not.toHaveBeenCalled();
        expect(deleteRecord).not.toHaveBeenCalled();
        expect(toasts).toEqual([{ title: 'c.SB_Admin_External_Channels', message: 'c.SB_Admin_Default_Not_Deletable', variant: 'error' }]);
    });
});
