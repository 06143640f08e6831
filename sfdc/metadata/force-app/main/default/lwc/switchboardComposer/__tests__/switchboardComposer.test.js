import { createElement } from 'lwc';
import SwitchboardComposer, { CONSENT_RECHECK_MS } from 'c/switchboardComposer';
import { graphql } from 'lightning/graphql';
import { createRecord, getRecord } from 'lightning/uiRecordApi';
import { subscribe, isEmpEnabled } from 'lightning/empApi';

// Labels whose placeholders the tests read, with their values from
// labels/Chat.labels-meta.xml.
jest.mock('@salesforce/label/c.SB_Counter', () => ({ default: '{0}/{1} characters · {2} SMS segment(s) · {3}' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Counter_Characters', () => ({ default: '{0}/{1} characters' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Too_Long', () => ({ default: 'The message is {0} characters long; this channel allows at most {1}.' }), { virtual: true });
jest.mock(
    '@salesforce/label/c.SB_Opted_Out',
    () => ({ default: '{0} has opted out of messages from {1} (replied STOP). The customer must text START to this number before you can message them again.' }),
    { virtual: true }
);

const channels = require('./data/channels.json');
const optInsSmsOptedOut = require('./data/optInsSmsOptedOut.json');
// The template picker's payload: the composer embeds the real picker.
const templates = require('../../switchboardTemplatePicker/__tests__/data/templates.json');
const contactFirstName = require('./data/contactFirstName.json');

const CONTACT = '003aK00000Ab1CdQAJ';
const ACCOUNT = '001aK00000Xy9ZwQAB';
const OPEN = 'a03aK000001Jm2aQAC';
const SMS = 'a02aK000000Ch1aQAC';
const WHATSAPP = 'a02aK000000Ch2aQAC';
const NEW_TASK = '00TaK00000DxQ5zUAF';
const NEW_CONVERSATION = 'a03aK000001Jm3bQAC';

const isChannels = (config) => !config.variables;
const isOptIns = (config) => !!config.variables && Array.isArray(config.variables.keys);
const isTemplates = (config) => !!config.variables && 'objectApiName' in config.variables;

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function mount(props) {
    const element = createElement('c-switchboard-composer', { is: SwitchboardComposer });
    Object.assign(element, { recordId: CONTACT, objectApiName: 'Contact', recipient: '+14155550100', ...props });
    document.body.appendChild(element);
    await flush();
    graphql.emit(channels, isChannels);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);

async function type(element, value) {
    $(element, '.sb-text').dispatchEvent(new CustomEvent('change', { detail: { value } }));
    await flush();
}

async function pick(element, selector, value) {
    $(element, selector).dispatchEvent(new CustomEvent('change', { detail: { value } }));
    await flush();
}

describe('c-switchboard-composer', () => {
    beforeEach(() => {
        createRecord.mockImplementation(({ apiName }) =>
            Promise.resolve({ id: apiName === 'Task' ? NEW_TASK : NEW_CONVERSATION, apiName, fields: {} })
        );
    });

    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('sends into the open conversation: the Task of SPEC §1, then a sent event', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        const sent = jest.fn();
        element.addEventListener('sent', sent);
        expect($(element, '.sb-channel').value).toBe(SMS);
        await expect(element).toBeAccessible();

        await type(element, 'Running 10 minutes late, sorry!');
        $(element, '.sb-send').click();
        await flush();

        expect(createRecord).toHaveBeenCalledTimes(1);
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Task',
            fields: {
                Subject: 'SMS to +14155550100',
                Description: 'Running 10 minutes late, sorry!',
                Message_Type__c: 'Outbound',
                Message_Status__c: 'Pending',
                Conversation__c: OPEN,
                WhoId: CONTACT
            }
        });
        expect(sent).toHaveBeenCalledTimes(1);
        expect(sent.mock.calls[0][0].detail).toEqual({
            taskId: NEW_TASK,
            conversationId: OPEN,
            body: 'Running 10 minutes late, sorry!',
            createdConversation: false
        });
        expect($(element, '.sb-text').value).toBe('');
    });

    it('sends on Enter and keeps Shift+Enter for a new line', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        await type(element, 'Line one');
        const shiftEnter = new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true, cancelable: true });
        $(element, '.sb-text').dispatchEvent(shiftEnter);
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(shiftEnter.defaultPrevented).toBe(false);

        const enter = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
        $(element, '.sb-text').dispatchEvent(enter);
        await flush();
        expect(enter.defaultPrevented).toBe(true);
        expect(createRecord).toHaveBeenCalledTimes(1);
        expect(createRecord.mock.calls[0][0].fields.Description).toBe('Line one');
    });

    it('opens the conversation first when the number has none, and puts an Account in WhatId', async () => {
        const element = await mount({
            recordId: ACCOUNT,
            objectApiName: 'Account',
            externalChannelId: 'a01aK000000Ext3QAC'
        });
        const sent = jest.fn();
        element.addEventListener('sent', sent);
        // No conversation: the first active channel.
        expect($(element, '.sb-channel').value).toBe(SMS);
        await type(element, 'Your order has shipped.');
        $(element, '.sb-send').click();
        await flush();

        expect(createRecord.mock.calls.map((c) => c[0])).toEqual([
            {
                apiName: 'Conversation__c',
                fields: {
                    Status__c: 'Open',
                    Channel__c: SMS,
                    Message_Recipient__c: '+14155550100',
                    Record_Id__c: ACCOUNT,
                    External_Channel__c: 'a01aK000000Ext3QAC'
                }
            },
            {
                apiName: 'Task',
                fields: {
                    Subject: 'SMS to +14155550100',
                    Description: 'Your order has shipped.',
                    Message_Type__c: 'Outbound',
                    Message_Status__c: 'Pending',
                    Conversation__c: NEW_CONVERSATION,
                    WhatId: ACCOUNT
                }
            }
        ]);
        expect(sent.mock.calls[0][0].detail).toEqual({
            taskId: NEW_TASK,
            conversationId: NEW_CONVERSATION,
            body: 'Your order has shipped.',
            createdConversation: true
        });
    });

    it('addresses WhatsApp as whatsapp: and counts characters only', async () => {
        const element = await mount({});
        await pick(element, '.sb-channel', WHATSAPP);
        await type(element, 'ж'.repeat(71));
        expect($(element, '.sb-counter').textContent).toBe('71/1000 characters');
        $(element, '.sb-send').click();
        await flush();
        expect(createRecord.mock.calls[0][0].fields.Message_Recipient__c).toBe('whatsapp:+14155550100');
        expect(createRecord.mock.calls[1][0].fields.Subject).toBe('WhatsApp to +14155550100');
    });

    it('counts SMS segments as the sidecar does, against the channel maximum', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        await type(element, 'a'.repeat(160));
        expect($(element, '.sb-counter').textContent).toBe('160/1600 characters · 1 SMS segment(s) · GSM-7');
        await type(element, `${'a'.repeat(160)}€`);
        expect($(element, '.sb-counter').textContent).toBe('161/1600 characters · 2 SMS segment(s) · GSM-7');
        await type(element, `it’s ${'a'.repeat(100)}`);
        expect($(element, '.sb-counter').textContent).toBe('105/1600 characters · 2 SMS segment(s) · UCS-2');
    });

    it('refuses a message longer than the channel allows, and an empty one, saying why', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        await type(element, 'a'.repeat(1601));
        expect($(element, '.sb-too-long').textContent.trim()).toBe('The message is 1601 characters long; this channel allows at most 1600.');
        $(element, '.sb-send').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect($(element, '.sb-validation').textContent).toBe('The message is 1601 characters long; this channel allows at most 1600.');
        await expect(element).toBeAccessible();

        await type(element, '   ');
        $(element, '.sb-send').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect($(element, '.sb-validation').textContent).toBe('c.SB_Empty_Message');
    });

    it('is disabled with the reason when the number opted out of the channel', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        const asked = [];
        graphql.emit(optInsSmsOptedOut, (config) => {
            if (isOptIns(config)) asked.push(config.variables);
            return isOptIns(config);
        });
        await flush();
        // One query by UniqueId__c covers every channel (SPEC §1: "<customer E.164>|<Channel__c Id>").
        expect(asked).toEqual([{ keys: [`+14155550100|${SMS}`, `whatsapp:+14155550100|${WHATSAPP}`] }]);
        expect($(element, '.sb-blocked').textContent).toBe(
            '+14155550100 has opted out of messages from Support SMS (replied STOP). The customer must text START to this number before you can message them again.'
        );
        expect($(element, '.sb-text').disabled).toBe(true);
        expect($(element, '.sb-send').disabled).toBe(true);
        await type(element, 'Hello?');
        const enter = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
        $(element, '.sb-text').dispatchEvent(enter);
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        await expect(element).toBeAccessible();
    });

    it('looks at consent again when the customer texts, so a STOP disables it without a reload', async () => {
        // The sidecar writes Opt_In__c just after the inbound Task (sync/inbound.go):
        // look on the notification and once more later.
        jest.useFakeTimers();
        let notify;
        isEmpEnabled.mockResolvedValue(true);
        subscribe.mockImplementation((channel, replayId, cb) => {
            notify = cb;
            return Promise.resolve({ channel, replayId });
        });
        const refresh = jest.fn().mockResolvedValue(undefined);
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        graphql.emit({ uiapi: { query: { Opt_In__c: { edges: [] } } } }, isOptIns, refresh);
        await flush();
        expect($(element, '.sb-blocked')).toBeNull();
        expect(subscribe).toHaveBeenCalledWith(`/topic/SwitchboardChat?Conversation__c='${OPEN}'`, -1, expect.any(Function));

        // An outbound status change says nothing about consent.
        notify({ data: { event: { type: 'updated' }, sobject: { Id: NEW_TASK, Conversation__c: OPEN, Message_Type__c: 'Outbound', Message_Status__c: 'Delivered' } } });
        expect(refresh).not.toHaveBeenCalled();
        notify({ data: { event: { type: 'created' }, sobject: { Id: NEW_TASK, Conversation__c: OPEN, Message_Type__c: 'Inbound', Message_Status__c: 'Received' } } });
        expect(refresh).toHaveBeenCalledTimes(1);
        jest.advanceTimersByTime(CONSENT_RECHECK_MS);
        expect(refresh).toHaveBeenCalledTimes(2);
        graphql.emit(optInsSmsOptedOut, isOptIns);
        await flush();
        expect($(element, '.sb-blocked').textContent).toContain('has opted out of messages from Support SMS');
        expect($(element, '.sb-send').disabled).toBe(true);
        document.body.removeChild(element);
        jest.useRealTimers();
    });

    it('shows the reason its parent gives, and says so when there is no active channel', async () => {
        const element = await mount({ conversationId: OPEN, disabledReason: 'This conversation is closed.' });
        expect($(element, '.sb-blocked').textContent).toBe('This conversation is closed.');
        expect($(element, '.sb-send').disabled).toBe(true);

        const bare = createElement('c-switchboard-composer', { is: SwitchboardComposer });
        Object.assign(bare, { recordId: CONTACT, objectApiName: 'Contact', recipient: '+14155550100' });
        document.body.appendChild(bare);
        await flush();
        graphql.emit({ uiapi: { query: { Channel__c: { edges: [] } } } }, isChannels);
        await flush();
        expect($(bare, '.sb-blocked').textContent).toBe('c.SB_No_Channel');
        await expect(bare).toBeAccessible();
    });

    // The sidecar's grammar (sync/merge.go) allows spaces inside the braces.
    it('previews a merge field written with spaces, as the sidecar fills it', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        await type(element, 'Hi {! Contact.FirstName }!');
        expect(getRecord.getLastConfig()).toEqual({ recordId: CONTACT, optionalFields: ['Contact.FirstName'] });
        getRecord.emit(contactFirstName);
        await flush();
        expect($(element, '.sb-preview p').textContent).toBe('Hi Ada!');
    });

    it('inserts a template in the chosen language and previews it merged from this record', async () => {
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        graphql.emit(templates, isTemplates);
        await flush();
        const picker = $(element, 'c-switchboard-template-picker');
        expect(picker.objectApiName).toBe('Contact');
        picker.shadowRoot
            .querySelector('.sb-template')
            .dispatchEvent(new CustomEvent('change', { detail: { value: 'a05aK000000Tpl1QAC' } }));
        await flush();
        const languages = picker.shadowRoot.querySelector('.sb-language');
        expect(languages.options.map((o) => o.value)).toEqual(['', 'de', 'es']);
        languages.dispatchEvent(new CustomEvent('change', { detail: { value: 'de' } }));
        await flush();

        const german = 'Hallo {!Contact.FirstName}, hier ist Acme Dental: bis morgen. Antworten Sie JA zur Bestätigung.';
        expect($(element, '.sb-text').value).toBe(german);
        expect(getRecord.getLastConfig()).toEqual({ recordId: CONTACT, optionalFields: ['Contact.FirstName'] });
        getRecord.emit(contactFirstName);
        await flush();
        expect($(element, '.sb-preview p').textContent).toBe(
            'Hallo Ada, hier ist Acme Dental: bis morgen. Antworten Sie JA zur Bestätigung.'
        );
        // The merged text counts (the sidecar checks that one), not the
        // template's 95 characters with its merge field; "ä" is GSM-7.
        expect($(element, '.sb-counter').textContent).toBe('78/1600 characters · 1 SMS segment(s) · GSM-7');
        await expect(element).toBeAccessible();

        $(element, '.sb-send').click();
        await flush();
        // The sidecar merges the fields when it sends (SPEC §3).
        expect(createRecord.mock.calls[0][0].fields.Description).toBe(german);
    });

    it('keeps the text and shows the reason when Salesforce refuses the Task', async () => {
        // What Salesforce answers when Task.Message_Status__c lacks the value.
        createRecord.mockRejectedValueOnce(require('./data/createTaskRestrictedPicklist.json'));
        const element = await mount({ conversationId: OPEN, defaultChannelId: SMS });
        const toast = jest.fn();
        const sent = jest.fn();
        element.addEventListener('lightning__showtoast', toast);
        element.addEventListener('sent', sent);
        await type(element, 'Are you there?');
        $(element, '.sb-send').click();
        await flush();
        expect(toast.mock.calls[0][0].detail).toEqual({
            title: 'c.SB_Send_Failed',
            message: 'Message Status: bad value for restricted picklist field: Pending',
            variant: 'error'
        });
        expect(sent).not.toHaveBeenCalled();
        expect($(element, '.sb-text').value).toBe('Are you there?');
        expect($(element, '.sb-send').disabled).toBe(false);
    });
});
