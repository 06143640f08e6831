/*
 * Contract — the composer sends one message as an outbound Task (SPEC §1).
 * Used by switchboardChat (record pages) and switchboardInbox.
 *
 * @api conversationId     the open Conversation__c to send into; empty when
 *                         the number has no open thread (see send() for what
 *                         happens then)
 * @api recordId           the record the message is about: WhoId for a Contact
 *                         or Lead, WhatId for anything else; also the record
 *                         the template preview is merged from. May be empty
 *                         (an unbound inbox conversation).
 * @api objectApiName      that record's object: picks the templates
 *                         (Message_Template__c.SObject_API_Name__c)
 * @api recipient          the customer's number, E.164 (required to send)
 * @api defaultChannelId   the conversation's Channel__c, preselected
 * @api externalChannelId  the External_Channel__c the number came from, if
 *                         known; stored on a conversation the composer creates
 * @api disabledReason     when set, the composer is disabled and shows it
 *
 * Event `sent`: detail { taskId, conversationId, body, createdConversation }
 * once the Task is saved; the message is then Pending and the sidecar takes
 * it from there. A failure shows an error toast and keeps the text.
 * The composer also disables itself, saying why, when the number opted out
 * of the chosen channel (Opt_In__c.Active__c false).
 */
import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { createRecord, getRecord, getFieldValue, getFieldDisplayValue } from 'lightning/uiRecordApi';
import CHANNEL_LABEL from '@salesforce/label/c.SB_Channel_Label';
import MESSAGE_LABEL from '@salesforce/label/c.SB_Message_Label';
import MESSAGE_PLACEHOLDER from '@salesforce/label/c.SB_Message_Placeholder';
import COUNTER from '@salesforce/label/c.SB_Counter';
import COUNTER_CHARACTERS from '@salesforce/label/c.SB_Counter_Characters';
import TOO_LONG from '@salesforce/label/c.SB_Too_Long';
import SEND from '@salesforce/label/c.SB_Send';
import SEND_FAILED from '@salesforce/label/c.SB_Send_Failed';
import EMPTY_MESSAGE from '@salesforce/label/c.SB_Empty_Message';
import OPTED_OUT from '@salesforce/label/c.SB_Opted_Out';
import NO_CHANNEL from '@salesforce/label/c.SB_No_Channel';
import NO_RECIPIENT from '@salesforce/label/c.SB_No_Recipient';
import PREVIEW_LABEL from '@salesforce/label/c.SB_Preview_Label';
import { countSegments, characterCount } from 'c/switchboardSegments';
import { errorToast, format, MERGE_FIELD, nodes, refreshWire } from 'c/switchboardUtils';
import { register } from 'c/switchboardChatSubscription';

// The sidecar writes an inbound message's Task first and the Opt_In__c change
// of a STOP just after it (sync/inbound.go), so the notification of the Task
// can come before the consent is written: look again this much later.
export const CONSENT_RECHECK_MS = 3000;

// Channel_Type__c.Max_Message_Length__c's default (SPEC §1).
const DEFAULT_MAX_LENGTH = 1600;
const WHATSAPP = 'Twilio WhatsApp';
// WhatsApp addresses carry "whatsapp:" (twilio ref §10.1); the sidecar keys
// WhatsApp conversations and opt-ins with it.
const WHATSAPP_PREFIX = 'whatsapp:';
const WHO_OBJECTS = ['Contact', 'Lead'];

export default class SwitchboardComposer extends LightningElement {
    @api conversationId;
    @api recordId;
    @api objectApiName;
    @api recipient;
    @api defaultChannelId;
    @api externalChannelId;
    @api disabledReason;

    labels = {
        channel: CHANNEL_LABEL,
        message: MESSAGE_LABEL,
        placeholder: MESSAGE_PLACEHOLDER,
        send: SEND,
        preview: PREVIEW_LABEL
    };
    channels = [];
    channelsLoaded = false;
    pickedChannelId;
    optIns = [];
    optInResult;
    listeningTo;
    unregister;
    recheckTimer;
    text = '';
    record;
    sending = false;
    validation = '';
    errors;

    @wire(graphql, {
        query: gql`
            query switchboardChannels {
                uiapi {
                    query {
                        Channel__c(where: { Active__c: { eq: true } }, first: 200, orderBy: { Name: { order: ASC } }) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Phone_Number__c {
                                        value
                                    }
                                    Channel_Type__r {
                                        Provider__c {
                                            value
                                        }
                                        Max_Message_Length__c {
                                            value
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `
    })
    wiredChannels({ data, errors }) {
        if (errors) this.errors = errors;
        if (!data) return;
        this.channels = nodes(data.uiapi.query.Channel__c).map((c) => ({
            id: c.Id,
            name: c.Name,
            provider: c.Channel_Type__r ? c.Channel_Type__r.Provider__c : null,
            maxLength: (c.Channel_Type__r && c.Channel_Type__r.Max_Message_Length__c) || DEFAULT_MAX_LENGTH
        }));
        this.channelsLoaded = true;
    }

    // Consent is per customer number per channel (SPEC §1, Opt_In__c); the
    // UniqueId__c is exactly "<customer>|<Channel__c Id>", so one query by
    // key covers every channel the user might pick.
    @wire(graphql, {
        query: gql`
            query switchboardOptIns($keys: [String]) {
                uiapi {
                    query {
                        Opt_In__c(where: { UniqueId__c: { in: $keys } }, first: 200) {
                            edges {
                                node {
                                    Id
                                    UniqueId__c {
                                        value
                                    }
                                    Active__c {
                                        value
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: '$optInVariables'
    })
    wiredOptIns(result) {
        this.optInResult = result;
        const { data, errors } = result;
        if (errors) this.errors = errors;
        if (data) this.optIns = nodes(data.uiapi.query.Opt_In__c);
    }

    // A customer's text may be STOP or START: follow the open conversation
    // on the shared subscription and look at consent again when one comes.
    renderedCallback() {
        if (this.listeningTo === this.conversationId) return;
        this.stopListening();
        this.listeningTo = this.conversationId;
        if (this.conversationId) {
            this.unregister = register([this.conversationId], (update) => {
                if (update && update.type !== 'Inbound') return;
                this.refreshConsent();
                clearTimeout(this.recheckTimer);
                // eslint-disable-next-line @lwc/lwc/no-async-operation
                this.recheckTimer = setTimeout(() => this.refreshConsent(), CONSENT_RECHECK_MS);
            });
        }
    }

    disconnectedCallback() {
        this.stopListening();
        this.listeningTo = undefined;
    }

    stopListening() {
        if (this.unregister) this.unregister();
        this.unregister = undefined;
        clearTimeout(this.recheckTimer);
    }

    refreshConsent() {
        refreshWire(this.optInResult);
    }

    @wire(getRecord, { recordId: '$previewRecordId', optionalFields: '$previewFields' })
    wiredRecord({ data }) {
        this.record = data;
    }

    get optInVariables() {
        if (!this.recipient) return { keys: [] };
        return { keys: this.channels.map((c) => optInKey(this.addressFor(c), c.id)) };
    }

    get channelId() {
        const ids = this.channels.map((c) => c.id);
        if (this.pickedChannelId && ids.includes(this.pickedChannelId)) return this.pickedChannelId;
        if (this.defaultChannelId && ids.includes(this.defaultChannelId)) return this.defaultChannelId;
        return ids[0];
    }

    get channel() {
        return this.channels.find((c) => c.id === this.channelId);
    }

    get channelOptions() {
        return this.channels.map((c) => ({ label: c.name, value: c.id }));
    }

    get isWhatsApp() {
        return !!this.channel && this.channel.provider === WHATSAPP;
    }

    addressFor(channel) {
        return channel && channel.provider === WHATSAPP ? WHATSAPP_PREFIX + this.recipient : this.recipient;
    }

    get optedOut() {
        const c = this.channel;
        if (!c || !this.recipient) return false;
        const key = optInKey(this.addressFor(c), c.id);
        return this.optIns.some((o) => o.UniqueId__c === key && o.Active__c === false);
    }

    get blockedReason() {
        if (this.disabledReason) return this.disabledReason;
        if (!this.recipient) return NO_RECIPIENT;
        if (this.channelsLoaded && this.channels.length === 0) return NO_CHANNEL;
        if (this.optedOut) return format(OPTED_OUT, this.recipient, this.channel.name);
        return '';
    }

    get isBlocked() {
        return !!this.blockedReason;
    }

    get sendDisabled() {
        return this.isBlocked || this.sending || !this.channel;
    }

    // Merge fields of this record's object, for the preview.
    get mergeFields() {
        const fields = new Set();
        for (const m of this.text.matchAll(MERGE_FIELD)) {
            if (m[1] === this.objectApiName) fields.add(m[1] + m[2]);
        }
        return [...fields];
    }

    get previewFields() {
        return this.mergeFields;
    }

    get previewRecordId() {
        return this.mergeFields.length && this.recordId ? this.recordId : undefined;
    }

    get preview() {
        if (!this.mergeFields.length || !this.record) return '';
        return this.text.replace(MERGE_FIELD, (token, object, path) => {
            if (object !== this.objectApiName) return token;
            const field = object + path;
            const shown = getFieldDisplayValue(this.record, field);
            const value = shown !== null && shown !== undefined ? shown : getFieldValue(this.record, field);
            return value === null || value === undefined ? '' : String(value);
        });
    }

    // The sidecar checks the merged body against the channel's maximum
    // (SPEC §3), so count what will be sent when the preview knows it.
    get countedText() {
        return this.preview || this.text;
    }

    get maxLength() {
        return this.channel ? this.channel.maxLength : DEFAULT_MAX_LENGTH;
    }

    get counter() {
        const length = characterCount(this.countedText);
        if (this.isWhatsApp) return format(COUNTER_CHARACTERS, length, this.maxLength);
        const s = countSegments(this.countedText);
        return format(COUNTER, length, this.maxLength, s.segments, s.encoding);
    }

    get tooLong() {
        const length = characterCount(this.countedText);
        return length > this.maxLength ? format(TOO_LONG, length, this.maxLength) : '';
    }

    get counterClass() {
        return this.tooLong ? 'slds-text-color_error slds-text-body_small' : 'slds-text-color_weak slds-text-body_small';
    }

    handleChannel(event) {
        this.pickedChannelId = event.detail.value;
    }

    handleText(event) {
        this.text = event.detail.value || '';
        this.validation = '';
    }

    handleTemplate(event) {
        event.stopPropagation();
        this.text = event.detail.text || '';
        this.validation = '';
    }

    // Enter sends, Shift+Enter is a new line (the keyboard rule).
    handleKeyDown(event) {
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            this.send();
        }
    }

    handleSend() {
        this.send();
    }

    async send() {
        if (this.sendDisabled) return;
        const body = this.text;
        if (!body.trim()) {
            this.validation = EMPTY_MESSAGE;
            return;
        }
        if (this.tooLong) {
            this.validation = this.tooLong;
            return;
        }
        const channel = this.channel;
        this.sending = true;
        try {
            let conversationId = this.conversationId;
            let createdConversation = false;
            if (!conversationId) {
                // No open thread for this number: create it here rather than
                // leaving it to the sidecar. The sidecar would take the number
                // from the WhoId (SPEC §3), which a WhatId-only record
                // (Account, custom objects) does not have and which may hold
                // a different phone field than the one the user picked; and
                // the thread could not show the message until the sidecar had
                // run. The sidecar finds this open conversation for
                // (channel, number) like any other.
                const fields = {
                    Status__c: 'Open',
                    Channel__c: channel.id,
                    Message_Recipient__c: this.addressFor(channel)
                };
                if (this.recordId) fields.Record_Id__c = this.recordId;
                if (this.externalChannelId) fields.External_Channel__c = this.externalChannelId;
                const conversation = await createRecord({ apiName: 'Conversation__c', fields });
                conversationId = conversation.id;
                createdConversation = true;
            }
            const task = await createRecord({ apiName: 'Task', fields: this.taskFields(body, channel, conversationId) });
            this.text = '';
            this.dispatchEvent(
                new CustomEvent('sent', {
                    detail: { taskId: task.id, conversationId, body, createdConversation }
                })
            );
        } catch (error) {
            this.dispatchEvent(errorToast(SEND_FAILED, error));
        } finally {
            this.sending = false;
        }
    }

    // The Task exactly as SPEC §1 asks: Outbound + Pending is what the
    // SwitchboardTasks PushTopic and the sidecar's sweep look for. Subject is
    // data, not UI, so it is not a Custom Label.
    taskFields(body, channel, conversationId) {
        const fields = {
            Subject: `${channel.provider === WHATSAPP ? 'WhatsApp' : 'SMS'} to ${this.recipient}`,
            Description: body,
            Message_Type__c: 'Outbound',
            Message_Status__c: 'Pending',
            Conversation__c: conversationId
        };
        if (this.recordId) {
            fields[WHO_OBJECTS.includes(this.objectApiName) ? 'WhoId' : 'WhatId'] = this.recordId;
        }
        return fields;
    }
}

function optInKey(address, channelId) {
    return `${address}|${channelId}`;
}
