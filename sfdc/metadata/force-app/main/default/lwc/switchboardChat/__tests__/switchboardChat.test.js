import { createElement } from 'lwc';
import SwitchboardChat from 'c/switchboardChat';
import { graphql } from 'lightning/graphql';
import { getRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { subscribe, isEmpEnabled } from 'lightning/empApi';

jest.mock('@salesforce/label/c.SB_Phone_Option', () => ({ default: '{0} · {1}' }), { virtual: true });

const chatSetup = require('./data/chatSetup.json');
const contactPhones = require('./data/contactPhones.json');
const contactNoPhones = require('./data/contactNoPhones.json');
const contactObjectInfo = require('./data/contactObjectInfo.json');

const CONTACT = '003aK00000Ab1CdQAJ';
const OPEN = 'a03aK000001Jm2aQAC';
const CLOSED = 'a03aK000001Jm1zQAC';
const SMS = 'a02aK000000Ch1aQAC';

const isPhones = (config) => !!config.optionalFields && config.optionalFields.includes('Contact.MobilePhone');
const isSetup = (config) => !!config.variables && 'recordId' in config.variables;

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

let refresh;

// The chat on a record page, its wires configured, nothing emitted yet.
async function create(recordId, objectApiName) {
    const element = createElement('c-switchboard-chat', { is: SwitchboardChat });
    element.recordId = recordId;
    element.objectApiName = objectApiName;
    document.body.appendChild(element);
    await flush();
    return element;
}

async function mount(record = contactPhones, setup = chatSetup) {
    const element = await create(CONTACT, 'Contact');
    graphql.emit(setup, isSetup, refresh);
    getObjectInfo.emit(contactObjectInfo);
    await flush();
    getRecord.emit(record, isPhones);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);

describe('c-switchboard-chat', () => {
    beforeEach(() => {
        refresh = jest.fn().mockResolvedValue(undefined);
        isEmpEnabled.mockResolvedValue(true);
        subscribe.mockImplementation((channel) => Promise.resolve({ channel }));
        window.requestAnimationFrame = (cb) => cb();
    });

    afterEach(async () => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        await flush();
        jest.clearAllMocks();
    });

    it('offers one entry per External Channel field with a number and defaults to the open conversation', async () => {
        const element = await mount();
        const asked = [];
        getRecord.emit(contactPhones, (config) => {
            if (isPhones(config)) asked.push(config);
            return false;
        });
        expect(asked).toEqual([{ recordId: CONTACT, optionalFields: ['Contact.MobilePhone', 'Contact.Phone'] }]);
        const picker = $(element, 'c-switchboard-phone-picker');
        expect(picker.options).toEqual([
            { value: '+14155550100', label: 'Mobile · (415) 555-0100', externalChannelId: 'a01aK000000Ext1QAC' },
            { value: '+16505550111', label: 'Business Phone · +1 650-555-0111', externalChannelId: 'a01aK000000Ext2QAC' }
        ]);
        // The most recent open conversation is with the business phone.
        expect(picker.value).toBe('+16505550111');
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([OPEN]);
        const composer = $(element, 'c-switchboard-composer');
        expect({
            conversationId: composer.conversationId,
            recordId: composer.recordId,
            objectApiName: composer.objectApiName,
            recipient: composer.recipient,
            defaultChannelId: composer.defaultChannelId,
            externalChannelId: composer.externalChannelId
        }).toEqual({
            conversationId: OPEN,
            recordId: CONTACT,
            objectApiName: 'Contact',
            recipient: '+16505550111',
            defaultChannelId: SMS,
            externalChannelId: 'a01aK000000Ext2QAC'
        });
        expect($(element, '.sb-close')).not.toBeNull();
        await expect(element).toBeAccessible();
    });

    it('shows the history of another number, with no open conversation to close', async () => {
        const element = await mount();
        $(element, 'c-switchboard-phone-picker').dispatchEvent(new CustomEvent('change', { detail: { value: '+14155550100' } }));
        await flush();
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([CLOSED]);
        expect($(element, 'c-switchboard-composer').conversationId).toBeUndefined();
        expect($(element, 'c-switchboard-composer').recipient).toBe('+14155550100');
        expect($(element, '.sb-close')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('shows no thread for a number never texted, and sends from there', async () => {
        const setup = JSON.parse(JSON.stringify(chatSetup));
        setup.uiapi.query.Conversation__c.edges = [];
        const element = await mount(contactPhones, setup);
        expect($(element, 'c-switchboard-phone-picker').value).toBe('+14155550100');
        expect($(element, 'c-switchboard-thread')).toBeNull();
        expect($(element, '.sb-no-thread').textContent).toBe('c.SB_Thread_Empty');
        expect($(element, 'c-switchboard-composer').conversationId).toBeUndefined();
        await expect(element).toBeAccessible();
        $(element, 'c-switchboard-composer').dispatchEvent(
            new CustomEvent('sent', {
                detail: { taskId: '00TaK00000DxQ5zUAF', conversationId: 'a03aK000001Jm3bQAC', body: 'Hello!', createdConversation: true }
            })
        );
        await flush();
        const thread = $(element, 'c-switchboard-thread');
        expect(thread.conversationIds).toEqual(['a03aK000001Jm3bQAC']);
        expect([...thread.shadowRoot.querySelectorAll('.sb-body')].map((n) => n.textContent)).toEqual(['Hello!']);
    });

    it('closes the open conversation', async () => {
        const element = await mount();
        const toast = jest.fn();
        element.addEventListener('lightning__showtoast', toast);
        $(element, '.sb-close').click();
        await flush();
        expect(updateRecord).toHaveBeenCalledWith({ fields: { Id: OPEN, Status__c: 'Closed' } });
        expect(toast.mock.calls[0][0].detail).toEqual({ title: 'c.SB_Conversation_Closed', variant: 'success' });
        expect(refresh).toHaveBeenCalledTimes(1);
        expect($(element, '.sb-close')).toBeNull();
        // The thread keeps its history; the next message opens a new conversation.
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([OPEN]);
        expect($(element, 'c-switchboard-composer').conversationId).toBeUndefined();
    });

    it('says why a close failed and keeps the conversation open', async () => {
        updateRecord.mockRejectedValueOnce({
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: { errors: [{ errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' }], fieldErrors: {} }
            }
        });
        const element = await mount();
        const toast = jest.fn();
        element.addEventListener('lightning__showtoast', toast);
        $(element, '.sb-close').click();
        await flush();
        expect(toast.mock.calls[0][0].detail).toEqual({
            title: 'c.SB_Close_Failed',
            message: 'insufficient access rights on object id',
            variant: 'error'
        });
        expect($(element, '.sb-close')).not.toBeNull();
    });

    it('looks for a new conversation every 30 s while the number has none open', async () => {
        jest.useFakeTimers();
        const element = await mount();
        jest.advanceTimersByTime(30000);
        // The open conversation gets its news from the thread's subscription.
        expect(refresh).not.toHaveBeenCalled();
        $(element, 'c-switchboard-phone-picker').dispatchEvent(new CustomEvent('change', { detail: { value: '+14155550100' } }));
        await flush();
        jest.advanceTimersByTime(30000);
        expect(refresh).toHaveBeenCalledTimes(1);
        document.body.removeChild(element);
        jest.advanceTimersByTime(60000);
        expect(refresh).toHaveBeenCalledTimes(1);
        jest.useRealTimers();
    });

    it('shows a message sent into a new conversation at once', async () => {
        const element = await mount();
        $(element, 'c-switchboard-phone-picker').dispatchEvent(new CustomEvent('change', { detail: { value: '+14155550100' } }));
        await flush();
        $(element, 'c-switchboard-composer').dispatchEvent(
            new CustomEvent('sent', {
                detail: { taskId: '00TaK00000DxQ5zUAF', conversationId: 'a03aK000001Jm3bQAC', body: 'Hello again!', createdConversation: true }
            })
        );
        await flush();
        const thread = $(element, 'c-switchboard-thread');
        expect(thread.conversationIds).toEqual(['a03aK000001Jm3bQAC', CLOSED]);
        expect([...thread.shadowRoot.querySelectorAll('.sb-body')].map((n) => n.textContent)).toEqual(['Hello again!']);
        expect($(element, 'c-switchboard-composer').conversationId).toBe('a03aK000001Jm3bQAC');
        expect($(element, '.sb-close')).not.toBeNull();
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('explains a record without a number', async () => {
        const element = await mount(contactNoPhones);
        expect($(element, '.sb-no-phone').textContent).toBe('c.SB_No_Phone');
        expect($(element, 'c-switchboard-composer')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('explains an object without External Channels without asking for the record', async () => {
        const element = await create('a07aK000000Cus1QAC', 'Property__c');
        graphql.emit({ uiapi: { query: { External_Channel__c: { edges: [] }, Conversation__c: { edges: [] } } } }, isSetup);
        await flush();
        expect($(element, '.sb-no-phone').textContent).toBe('c.SB_No_Phone');
        // No phone fields: the record is not read at all.
        const asked = [];
        getRecord.emit(contactNoPhones, (config) => {
            asked.push(config);
            return false;
        });
        expect(asked).toEqual([{ recordId: undefined, optionalFields: [] }]);
    });

    it('shows why the record cannot be read', async () => {
        const element = await create(CONTACT, 'Contact');
        graphql.emit(chatSetup, isSetup, refresh);
        await flush();
        getRecord.emitError({ body: { message: "You don't have access to this record." }, status: 403, statusText: 'Forbidden' }, isPhones);
        await flush();
        const panel = $(element, 'c-switchboard-error-panel');
        expect(panel.errors).toHaveLength(1);
        expect(panel.errors[0].body).toEqual({ message: "You don't have access to this record." });
        expect($(element, 'c-switchboard-composer')).toBeNull();
        expect($(element, 'c-switchboard-loading')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('shows why it cannot load', async () => {
        const element = await create(CONTACT, 'Contact');
        graphql.emitErrors([{ message: 'Cannot query field "External_Channel__c" on type "RecordQuery".' }], isSetup);
        await flush();
        expect($(element, 'c-switchboard-error-panel').errors).toEqual([
            { message: 'Cannot query field "External_Channel__c" on type "RecordQuery".' }
        ]);
        expect($(element, 'c-switchboard-loading')).toBeNull();
        await expect(element).toBeAccessible();
    });
});
