import { createElement } from 'lwc';
import SwitchboardInbox from 'c/switchboardInbox';
import { graphql } from 'lightning/graphql';
import { createRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo, getObjectInfos } from 'lightning/uiObjectInfoApi';
import { subscribe, unsubscribe, isEmpEnabled } from 'lightning/empApi';
import { settled } from 'c/switchboardChatSubscription';

jest.mock('@salesforce/label/c.SB_Inbox_Count', () => ({ default: '{0} messages' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Inbox_Bound', () => ({ default: '{0} is now with {1}' }), { virtual: true });

const inboxSetup = require('./data/inboxSetup.json');
const objectInfos = require('./data/objectInfos.json');
const contactObjectInfo = require('./data/contactObjectInfo.json');
const leadObjectInfo = require('./data/leadObjectInfo.json');
const conversations = require('../../switchboardConversationList/__tests__/data/conversations.json');
const tasks = require('../../switchboardConversationList/__tests__/data/tasks.json');
const threadTasks = require('../../switchboardThread/__tests__/data/tasksRecent.json');

const SMS_OLD = 'a03aK000001Jn4cQAC';
const WHATSAPP = 'a03aK000001Jn5dQAC';
const SMS_NEW = 'a03aK000001Jn6eQAC';
const SMS_CHANNEL = 'a02aK000000Ch1aQAC';
const CONTACT = '003aK00000Bq7XyQAJ';

const has = (key) => (config) => !!config.variables && key in config.variables;
const isSetup = (config) => !!config.variables && Object.keys(config.variables).join() === 'first';

async function flush() {
    for (let i = 0; i < 6; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

let listRefresh;
let taskRefresh;

// The tab with its setup and list loaded, nothing chosen.
async function mount() {
    const element = createElement('c-switchboard-inbox', { is: SwitchboardInbox });
    document.body.appendChild(element);
    await flush();
    graphql.emit(inboxSetup, isSetup);
    graphql.emit(conversations, has('where'), listRefresh);
    await flush();
    graphql.emit(tasks, has('listedIds'), taskRefresh);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const list = (element) => $(element, 'c-switchboard-conversation-list');
const listed = (element) => [...list(element).shadowRoot.querySelectorAll('.sb-recipient')].map((n) => n.textContent);

async function choose(element, id) {
    list(element).shadowRoot.querySelector(`button[data-id="${id}"]`).click();
    await flush();
}

// Chooses a conversation and opens one of its forms (the binder loads the
// object infos, a new record form its object's).
async function openForm(element, id, button, info) {
    await choose(element, id);
    $(element, button).click();
    await flush();
    if (button === '.sb-bind') getObjectInfos.emit(info);
    else getObjectInfo.emit(info);
    await flush();
    const form = $(element, button === '.sb-bind' ? 'c-switchboard-record-binder' : 'c-switchboard-new-record');
    return form.shadowRoot;
}

function change(node, detail) {
    node.dispatchEvent(new CustomEvent('change', { detail }));
}

function toasts(element) {
    const seen = [];
    element.addEventListener('lightning__showtoast', (e) => seen.push(e.detail));
    return seen;
}

describe('c-switchboard-inbox', () => {
    beforeEach(() => {
        listRefresh = jest.fn().mockResolvedValue(undefined);
        taskRefresh = jest.fn().mockResolvedValue(undefined);
        isEmpEnabled.mockResolvedValue(true);
        subscribe.mockImplementation((channel) => Promise.resolve({ channel }));
        unsubscribe.mockResolvedValue({});
        updateRecord.mockResolvedValue({});
        window.requestAnimationFrame = (cb) => cb();
    });

    afterEach(async () => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        await flush();
        await settled();
        jest.clearAllMocks();
    });

    it('lists the unbound conversations and asks for one to be chosen', async () => {
        const element = await mount();
        expect(listed(element)).toEqual(['+447700900123', '+16505550199', '+14155550142']);
        expect($(element, '.sb-pick').textContent).toBe('c.SB_Inbox_Pick');
        expect($(element, 'c-switchboard-thread')).toBeNull();
        expect($(element, '.sb-channel-filter').options).toEqual([
            { label: 'c.SB_Inbox_All_Channels', value: '' },
            { label: 'US Support SMS', value: SMS_CHANNEL },
            { label: 'Support WhatsApp', value: 'a02aK000000Ch2bQAC' }
        ]);
        await expect(element).toBeAccessible();
    });

    it('filters the list by channel', async () => {
        const element = await mount();
        change($(element, '.sb-channel-filter'), { value: SMS_CHANNEL });
        await flush();
        expect(list(element).channelId).toBe(SMS_CHANNEL);
        change($(element, '.sb-channel-filter'), { value: '' });
        await flush();
        expect(list(element).channelId).toBeUndefined();
    });

    it('shows the chosen conversation with the chat thread and composer', async () => {
        const element = await mount();
        await choose(element, WHATSAPP);
        expect($(element, '.sb-selected-recipient').textContent).toContain('+447700900123');
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([WHATSAPP]);
        const composer = $(element, 'c-switchboard-composer');
        expect({
            conversationId: composer.conversationId,
            recipient: composer.recipient,
            defaultChannelId: composer.defaultChannelId,
            recordId: composer.recordId
        }).toEqual({ conversationId: WHATSAPP, recipient: '+447700900123', defaultChannelId: 'a02aK000000Ch2bQAC', recordId: undefined });
        expect(list(element).selectedId).toBe(WHATSAPP);
        graphql.emit(threadTasks, has('after'));
        await flush();
        expect($(element, 'c-switchboard-thread').shadowRoot.querySelectorAll('.sb-body')).toHaveLength(3);
        await expect(element).toBeAccessible();
    });

    it('shows a message just sent as Pending in the thread', async () => {
        const element = await mount();
        await choose(element, SMS_OLD);
        $(element, 'c-switchboard-composer').dispatchEvent(
            new CustomEvent('sent', { detail: { taskId: '00TaK00000DyS2bUAF', conversationId: SMS_OLD, body: 'Order 4411 left today.', createdConversation: false } })
        );
        await flush();
        const thread = $(element, 'c-switchboard-thread');
        expect([...thread.shadowRoot.querySelectorAll('.sb-body')].map((n) => n.textContent)).toEqual(['Order 4411 left today.']);
    });

    it('closes the conversation, which leaves the inbox', async () => {
        const element = await mount();
        const seen = toasts(element);
        await choose(element, SMS_NEW);
        $(element, '.sb-close').click();
        await flush();
        expect(updateRecord.mock.calls).toEqual([[{ fields: { Id: SMS_NEW, Status__c: 'Closed' } }]]);
        expect(seen).toEqual([{ title: 'c.SB_Conversation_Closed', variant: 'success' }]);
        expect(listed(element)).toEqual(['+447700900123', '+14155550142']);
        expect(listRefresh).toHaveBeenCalledTimes(1);
        expect($(element, '.sb-pick')).not.toBeNull();
        await expect(element).toBeAccessible();
    });

    it('keeps a conversation Salesforce would not close, and says why', async () => {
        updateRecord.mockRejectedValueOnce({
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: { errors: [{ errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' }], fieldErrors: {} }
            }
        });
        const element = await mount();
        const seen = toasts(element);
        await choose(element, SMS_NEW);
        $(element, '.sb-close').click();
        await flush();
        expect(seen).toEqual([{ title: 'c.SB_Close_Failed', message: 'insufficient access rights on object id', variant: 'error' }]);
        expect(listed(element)).toEqual(['+447700900123', '+16505550199', '+14155550142']);
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([SMS_NEW]);
    });

    it('says when the chosen conversation was bound or closed elsewhere, and offers no actions on it', async () => {
        const element = await mount();
        await choose(element, SMS_OLD);
        const without = JSON.parse(JSON.stringify(conversations));
        without.uiapi.query.Conversation__c.edges.shift();
        graphql.emit(without, has('where'), listRefresh);
        await flush();
        expect($(element, '.sb-gone').textContent).toBe('c.SB_Inbox_Gone');
        expect($(element, '.sb-close')).toBeNull();
        expect($(element, '.sb-bind')).toBeNull();
        // The thread stays readable.
        expect($(element, 'c-switchboard-thread').conversationIds).toEqual([SMS_OLD]);
        await expect(element).toBeAccessible();
        await choose(element, WHATSAPP);
        expect($(element, '.sb-gone')).toBeNull();
        expect($(element, '.sb-close')).not.toBeNull();
    });

    it('binds to an existing Contact, writing the number into its Mobile first', async () => {
        const element = await mount();
        const seen = toasts(element);
        const binderRoot = await openForm(element, SMS_OLD, '.sb-bind', objectInfos);
        await expect(element).toBeAccessible();
        change(binderRoot.querySelector('.sb-record'), { recordId: CONTACT });
        change(binderRoot.querySelector('.sb-phone-field'), { value: 'MobilePhone' });
        await flush();
        binderRoot.querySelector('.sb-bind-save').click();
        await flush();
        // The number first (a refusal binds nothing), then the binding the
        // sidecar acts on, with the External Channel of Contact.MobilePhone.
        expect(updateRecord.mock.calls).toEqual([
            [{ fields: { Id: CONTACT, MobilePhone: '+14155550142' } }],
            [{ fields: { Id: SMS_OLD, Record_Id__c: CONTACT, External_Channel__c: 'a01aK000000Ext1QAC' } }]
        ]);
        expect(seen).toEqual([{ title: '+14155550142 is now with Contact', variant: 'success' }]);
        expect(listed(element)).toEqual(['+447700900123', '+16505550199']);
        expect($(element, 'c-switchboard-record-binder')).toBeNull();
    });

    it('binds without touching the record when no phone field is chosen', async () => {
        const element = await mount();
        const binderRoot = await openForm(element, WHATSAPP, '.sb-bind', objectInfos);
        change(binderRoot.querySelector('.sb-object'), { value: 'Patient__c' });
        await flush();
        change(binderRoot.querySelector('.sb-record'), { recordId: 'a0PaK000000Pt1xQAC' });
        await flush();
        binderRoot.querySelector('.sb-bind-save').click();
        await flush();
        expect(updateRecord.mock.calls).toEqual([[{ fields: { Id: WHATSAPP, Record_Id__c: 'a0PaK000000Pt1xQAC' } }]]);
    });

    it('keeps the conversation and the form when the binding is refused', async () => {
        const element = await mount();
        const seen = toasts(element);
        const binderRoot = await openForm(element, SMS_OLD, '.sb-bind', objectInfos);
        change(binderRoot.querySelector('.sb-record'), { recordId: CONTACT });
        await flush();
        updateRecord.mockRejectedValueOnce({
            body: { output: { errors: [], fieldErrors: { Record_Id__c: [{ errorCode: 'STRING_TOO_LONG', message: 'Record Id: data value too large' }] } } }
        });
        binderRoot.querySelector('.sb-bind-save').click();
        await flush();
        expect(seen).toEqual([{ title: 'c.SB_Inbox_Bind_Failed', message: 'Record Id: data value too large', variant: 'error' }]);
        expect(listed(element)).toContain('+14155550142');
        expect($(element, 'c-switchboard-record-binder')).not.toBeNull();
    });

    it('creates a Contact with the number in the chosen field and binds it', async () => {
        createRecord.mockResolvedValue({ id: CONTACT });
        const element = await mount();
        const seen = toasts(element);
        const root = await openForm(element, SMS_OLD, '.sb-new-contact', contactObjectInfo);
        expect($(element, 'c-switchboard-new-record').objectApiName).toBe('Contact');
        expect(root.querySelector('.sb-company')).toBeNull();
        expect(root.querySelector('.sb-phone-field').value).toBe('MobilePhone');
        await expect(element).toBeAccessible();
        root.querySelector('.sb-first-name').value = 'Grace';
        root.querySelector('.sb-last-name').value = 'Hopper';
        change(root.querySelector('.sb-phone-field'), { value: 'HomePhone' });
        await flush();
        root.querySelector('.sb-save').click();
        await flush();
        expect(createRecord.mock.calls).toEqual([
            [{ apiName: 'Contact', fields: { LastName: 'Hopper', FirstName: 'Grace', HomePhone: '+14155550142' } }]
        ]);
        // HomePhone has no External Channel: the binding names none.
        expect(updateRecord.mock.calls).toEqual([[{ fields: { Id: SMS_OLD, Record_Id__c: CONTACT } }]]);
        expect(seen).toEqual([{ title: '+14155550142 is now with Grace Hopper', variant: 'success' }]);
        expect(listed(element)).toEqual(['+447700900123', '+16505550199']);
    });

    it('creates a Lead (Company required) and binds it with the Lead.MobilePhone External Channel', async () => {
        createRecord.mockResolvedValue({ id: '00QaK00000Lx4PqUAJ' });
        const element = await mount();
        const root = await openForm(element, SMS_OLD, '.sb-new-lead', leadObjectInfo);
        root.querySelector('.sb-last-name').value = 'Lovelace';
        root.querySelector('.sb-save').click();
        await flush();
        // No Company: nothing is created.
        expect(createRecord).not.toHaveBeenCalled();
        root.querySelector('.sb-company').value = 'Analytical Engines Ltd';
        root.querySelector('.sb-save').click();
        await flush();
        expect(createRecord.mock.calls).toEqual([
            [{ apiName: 'Lead', fields: { LastName: 'Lovelace', Company: 'Analytical Engines Ltd', MobilePhone: '+14155550142' } }]
        ]);
        expect(updateRecord.mock.calls).toEqual([
            [{ fields: { Id: SMS_OLD, Record_Id__c: '00QaK00000Lx4PqUAJ', External_Channel__c: 'a01aK000000Ext3QAC' } }]
        ]);
    });

    it('binds the Contact already created when the first binding was refused, without a second Contact', async () => {
        createRecord.mockResolvedValue({ id: CONTACT });
        updateRecord.mockRejectedValueOnce({ body: { message: 'Unable to lock row' } });
        const element = await mount();
        const seen = toasts(element);
        const root = await openForm(element, SMS_OLD, '.sb-new-contact', contactObjectInfo);
        root.querySelector('.sb-last-name').value = 'Hopper';
        root.querySelector('.sb-save').click();
        await flush();
        expect(seen).toEqual([{ title: 'c.SB_Inbox_Bind_Failed', message: 'Unable to lock row', variant: 'error' }]);
        root.querySelector('.sb-save').click();
        await flush();
        expect(createRecord).toHaveBeenCalledTimes(1);
        expect(updateRecord.mock.calls).toEqual([
            [{ fields: { Id: SMS_OLD, Record_Id__c: CONTACT, External_Channel__c: 'a01aK000000Ext1QAC' } }],
            [{ fields: { Id: SMS_OLD, Record_Id__c: CONTACT, External_Channel__c: 'a01aK000000Ext1QAC' } }]
        ]);
        expect(listed(element)).toEqual(['+447700900123', '+16505550199']);
    });

    // The app's Lightning page Switchboard_Inbox and the Inbound Messages tab
    // host it (SPEC §5).
    it('can be placed on an app page and a tab', () => {
        const meta = require('fs').readFileSync(require('path').join(__dirname, '..', 'switchboardInbox.js-meta.xml'), 'utf8');
        expect(meta).toContain('<isExposed>true</isExposed>');
        expect([...meta.matchAll(/<target>([^<]+)<\/target>/g)].map((m) => m[1])).toEqual(['lightning__AppPage', 'lightning__Tab']);
    });

    it('shows why the channels cannot load', async () => {
        const element = createElement('c-switchboard-inbox', { is: SwitchboardInbox });
        document.body.appendChild(element);
        await flush();
        graphql.emitErrors([{ message: "Cannot query field 'External_Channel__c' on type 'RecordQuery'." }], isSetup);
        await flush();
        expect($(element, 'c-switchboard-error-panel').errors).toEqual([
            { message: "Cannot query field 'External_Channel__c' on type 'RecordQuery'." }
        ]);
        await expect(element).toBeAccessible();
    });
});
