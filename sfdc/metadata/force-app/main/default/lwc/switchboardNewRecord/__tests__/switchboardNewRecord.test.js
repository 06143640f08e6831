import { createElement } from 'lwc';
import SwitchboardNewRecord from 'c/switchboardNewRecord';
import { createRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';

jest.mock('@salesforce/label/c.SB_Inbox_New_Title', () => ({ default: 'New {0} for {1}' }), { virtual: true });

const contactObjectInfo = require('../../switchboardInbox/__tests__/data/contactObjectInfo.json');
const leadObjectInfo = require('../../switchboardInbox/__tests__/data/leadObjectInfo.json');

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function mount(objectApiName, info) {
    const element = createElement('c-switchboard-new-record', { is: SwitchboardNewRecord });
    element.objectApiName = objectApiName;
    element.recipient = '+447700900123';
    document.body.appendChild(element);
    await flush();
    if (info) getObjectInfo.emit(info);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);

describe('c-switchboard-new-record', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('asks a Lead for its name, company and the field for the number', async () => {
        const element = await mount('Lead', leadObjectInfo);
        expect($(element, 'h3').textContent).toBe('New Lead for +447700900123');
        expect($(element, '.sb-last-name').required).toBe(true);
        expect($(element, '.sb-company').required).toBe(true);
        expect($(element, '.sb-phone-field').options).toEqual([
            { label: 'Mobile', value: 'MobilePhone' },
            { label: 'Phone', value: 'Phone' }
        ]);
        expect($(element, '.sb-phone-field').value).toBe('MobilePhone');
        await expect(element).toBeAccessible();
    });

    it('creates nothing for a name of spaces', async () => {
        const element = await mount('Contact', contactObjectInfo);
        $(element, '.sb-last-name').value = '   ';
        $(element, '.sb-save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
    });

    it('says why Salesforce refused the record and keeps the form', async () => {
        createRecord.mockRejectedValueOnce({
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: { errors: [{ errorCode: 'DUPLICATES_DETECTED', message: 'Use one of these records?' }], fieldErrors: {} }
            }
        });
        const element = await mount('Contact', contactObjectInfo);
        const handed = jest.fn();
        const toast = jest.fn();
        element.addEventListener('record', handed);
        element.addEventListener('lightning__showtoast', toast);
        $(element, '.sb-last-name').value = 'Hopper';
        $(element, '.sb-save').click();
        await flush();
        expect(createRecord.mock.calls).toEqual([[{ apiName: 'Contact', fields: { LastName: 'Hopper', MobilePhone: '+447700900123' } }]]);
        expect(toast.mock.calls[0][0].detail).toEqual({ title: 'c.SB_Inbox_Create_Failed', message: 'Use one of these records?', variant: 'error' });
        expect(handed).not.toHaveBeenCalled();
        expect($(element, '.sb-save').disabled).toBe(false);
    });

    it('cannot save before it knows the phone fields, and shows why they are missing', async () => {
        const element = await mount('Contact');
        expect($(element, '.sb-save').disabled).toBe(true);
        getObjectInfo.error({ message: 'The requested resource does not exist' }, 404);
        await flush();
        expect($(element, 'c-switchboard-error-panel').errors).toHaveLength(1);
        await expect(element).toBeAccessible();
    });

    it('cancels', async () => {
        const element = await mount('Contact', contactObjectInfo);
        const cancel = jest.fn();
        element.addEventListener('cancel', cancel);
        $(element, '.sb-cancel').click();
        expect(cancel).toHaveBeenCalledTimes(1);
    });
});
