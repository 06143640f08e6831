import { createElement } from 'lwc';
import SwitchboardRecordBinder from 'c/switchboardRecordBinder';
import { updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';

const objectInfos = require('../../switchboardInbox/__tests__/data/objectInfos.json');
const inboxSetup = require('../../switchboardInbox/__tests__/data/inboxSetup.json');

const ACCOUNT = '001aK00000Cm3RtQAJ';
const externalChannels = inboxSetup.uiapi.query.External_Channel__c.edges.map((e) => ({
    Id: e.node.Id,
    Object_API_Name__c: e.node.Object_API_Name__c.value,
    Field_API_Name__c: e.node.Field_API_Name__c.value
}));

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function mount(infos = objectInfos) {
    const element = createElement('c-switchboard-record-binder', { is: SwitchboardRecordBinder });
    element.recipient = '+14155550142';
    element.externalChannels = externalChannels;
    document.body.appendChild(element);
    await flush();
    getObjectInfos.emit(infos);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const change = (node, detail) => node.dispatchEvent(new CustomEvent('change', { detail }));

// The agent picks an Account and asks for the number in its Phone.
async function bindAccountWritingPhone(element) {
    change($(element, '.sb-object'), { value: 'Account' });
    await flush();
    change($(element, '.sb-record'), { recordId: ACCOUNT });
    change($(element, '.sb-phone-field'), { value: 'Phone' });
    await flush();
    $(element, '.sb-bind-save').click();
    await flush();
}

describe('c-switchboard-record-binder', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('offers Account, Contact, Lead and every object with an External Channel, Contact first', async () => {
        const element = await mount();
        const asked = [];
        getObjectInfos.emit(objectInfos, (config) => {
            asked.push(config);
            return false;
        });
        expect(asked).toEqual([{ objectApiNames: ['Account', 'Contact', 'Lead', 'Patient__c'] }]);
        expect($(element, '.sb-object').options).toEqual([
            { label: 'Account', value: 'Account' },
            { label: 'Contact', value: 'Contact' },
            { label: 'Lead', value: 'Lead' },
            { label: 'Patient', value: 'Patient__c' }
        ]);
        expect($(element, '.sb-object').value).toBe('Contact');
        expect($(element, '.sb-record').objectApiName).toBe('Contact');
        expect($(element, '.sb-phone-field').options).toEqual([
            { label: 'c.SB_Inbox_Do_Not_Write', value: '' },
            { label: 'Business Phone', value: 'Phone' },
            { label: 'Home Phone', value: 'HomePhone' },
            { label: 'Mobile', value: 'MobilePhone' }
        ]);
        // Nothing chosen yet: nothing to bind.
        expect($(element, '.sb-bind-save').disabled).toBe(true);
        await expect(element).toBeAccessible();
    });

    it('leaves out an object the user may not read', async () => {
        const infos = JSON.parse(JSON.stringify(objectInfos));
        infos.results[3] = { statusCode: 403, result: [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'You do not have access to the Patient__c object' }] };
        const element = await mount(infos);
        expect($(element, '.sb-object').options.map((o) => o.value)).toEqual(['Account', 'Contact', 'Lead']);
    });

    it('searches the chosen object and offers its phone fields', async () => {
        const element = await mount();
        change($(element, '.sb-object'), { value: 'Account' });
        await flush();
        expect($(element, '.sb-record').objectApiName).toBe('Account');
        expect($(element, '.sb-phone-field').options.map((o) => o.value)).toEqual(['', 'Fax', 'Phone']);
    });

    it('writes the number and then hands the record over', async () => {
        updateRecord.mockResolvedValue({});
        const element = await mount();
        const handed = jest.fn();
        element.addEventListener('record', handed);
        await bindAccountWritingPhone(element);
        expect(updateRecord.mock.calls).toEqual([[{ fields: { Id: ACCOUNT, Phone: '+14155550142' } }]]);
        expect(handed.mock.calls[0][0].detail).toEqual({ recordId: ACCOUNT, objectApiName: 'Account', phoneField: 'Phone', name: 'Account' });
    });

    it('binds nothing when the number cannot be written, and says why', async () => {
        updateRecord.mockRejectedValueOnce({
            body: { output: { errors: [], fieldErrors: { Phone: [{ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Phone must be a landline' }] } } }
        });
        const element = await mount();
        const handed = jest.fn();
        const toast = jest.fn();
        element.addEventListener('record', handed);
        element.addEventListener('lightning__showtoast', toast);
        await bindAccountWritingPhone(element);
        expect(handed).not.toHaveBeenCalled();
        expect(toast.mock.calls[0][0].detail).toEqual({ title: 'c.SB_Inbox_Write_Failed', message: 'Phone must be a landline', variant: 'error' });
        expect($(element, '.sb-bind-save').disabled).toBe(false);
    });

    it('forgets the record when the object changes, and cancels', async () => {
        const element = await mount();
        const cancel = jest.fn();
        element.addEventListener('cancel', cancel);
        change($(element, '.sb-record'), { recordId: '003aK00000Bq7XyQAJ' });
        await flush();
        expect($(element, '.sb-bind-save').disabled).toBe(false);
        change($(element, '.sb-object'), { value: 'Lead' });
        await flush();
        expect($(element, '.sb-record').value).toBeUndefined();
        expect($(element, '.sb-bind-save').disabled).toBe(true);
        $(element, '.sb-cancel').click();
        expect(cancel).toHaveBeenCalledTimes(1);
    });
});
