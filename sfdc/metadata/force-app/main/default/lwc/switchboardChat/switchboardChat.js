import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { getRecord, getFieldValue, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import TITLE from '@salesforce/label/c.SB_Chat_Title';
import PHONE_OPTION from '@salesforce/label/c.SB_Phone_Option';
import NO_PHONE from '@salesforce/label/c.SB_No_Phone';
import THREAD_EMPTY from '@salesforce/label/c.SB_Thread_Empty';
import CLOSE_CONVERSATION from '@salesforce/label/c.SB_Close_Conversation';
import CONVERSATION_CLOSED from '@salesforce/label/c.SB_Conversation_Closed';
import CLOSE_FAILED from '@salesforce/label/c.SB_Close_Failed';
import { errorToast, format, nodes, recipientE164, refreshWire, toE164 } from 'c/switchboardUtils';
import { REFRESH_INTERVAL_MS } from 'c/switchboardChatSubscription';

// The conversation on a record page: which of the record's numbers (one per
// External_Channel__c of this object whose field has a value), the thread of
// this record's conversations with that number, and the composer.
export default class SwitchboardChat extends LightningElement {
    @api recordId;
    @api objectApiName;

    labels = { title: TITLE, noPhone: NO_PHONE, close: CLOSE_CONVERSATION, empty: THREAD_EMPTY };
    externalChannels = [];
    conversations = [];
    conversationsResult;
    setupLoaded = false;
    record;
    recordLoaded = false;
    fieldLabels = {};
    pickedPhone;
    closing = false;
    setupErrors;
    recordError;
    timer;
    pendingSent;

    // The shared subscription filters on the conversations already on
    // screen, so it cannot announce a new one: when the customer texts
    // after a close, the sidecar opens a new conversation (SPEC §1). While
    // the chosen number has no open conversation, look for one every 30 s
    // (a GraphQL read, not a streaming notification).
    connectedCallback() {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.timer = setInterval(() => {
            if (this.setupLoaded && this.phone && !this.openConversation) this.refreshConversations();
        }, REFRESH_INTERVAL_MS);
    }

    disconnectedCallback() {
        clearInterval(this.timer);
    }

    @wire(graphql, {
        query: gql`
            query switchboardChatSetup($objectApiName: String, $recordId: String) {
                uiapi {
                    query {
                        External_Channel__c(
                            where: { Object_API_Name__c: { eq: $objectApiName } }
                            first: 50
                            orderBy: { Name: { order: ASC } }
                        ) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Field_API_Name__c {
                                        value
                                    }
                                }
                            }
                        }
                        Conversation__c(
                            where: { Record_Id__c: { eq: $recordId } }
                            first: 200
                            orderBy: { LastModifiedDate: { order: DESC } }
                        ) {
                            edges {
                                node {
                                    Id
                                    Status__c {
                                        value
                                    }
                                    Message_Recipient__c {
                                        value
                                    }
                                    Channel__c {
                                        value
                                    }
                                    LastModifiedDate {
                                        value
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: '$setupVariables'
    })
    wiredSetup(result) {
        const { data, errors } = result;
        if (!data && !errors) return;
        this.conversationsResult = result;
        this.setupErrors = errors;
        if (!data) return;
        this.externalChannels = nodes(data.uiapi.query.External_Channel__c);
        this.conversations = nodes(data.uiapi.query.Conversation__c);
        this.setupLoaded = true;
    }

    @wire(getObjectInfo, { objectApiName: '$objectApiName' })
    wiredObjectInfo({ data }) {
        if (!data) return;
        const labels = {};
        Object.values(data.fields).forEach((f) => {
            labels[f.apiName] = f.label;
        });
        this.fieldLabels = labels;
    }

    @wire(getRecord, { recordId: '$phoneRecordId', optionalFields: '$phoneFields' })
    wiredRecord({ data, error }) {
        this.recordError = error;
        if (data) {
            this.record = data;
            this.recordLoaded = true;
        }
    }

    get errors() {
        const all = [...(this.setupErrors || []), ...(this.recordError ? [this.recordError] : [])];
        return all.length ? all : undefined;
    }

    get setupVariables() {
        return { objectApiName: this.objectApiName, recordId: this.recordId };
    }

    get phoneFields() {
        return this.externalChannels
            .filter((ec) => ec.Field_API_Name__c)
            .map((ec) => `${this.objectApiName}.${ec.Field_API_Name__c}`);
    }

    get phoneRecordId() {
        return this.phoneFields.length ? this.recordId : undefined;
    }

    // One entry per number, in External Channel order; a number in two fields
    // (Phone and MobilePhone alike) is one entry, named by the first field.
    get phoneOptions() {
        if (!this.record) return [];
        const seen = new Set();
        const options = [];
        for (const ec of this.externalChannels) {
            const raw = getFieldValue(this.record, `${this.objectApiName}.${ec.Field_API_Name__c}`);
            const e164 = toE164(raw);
            if (!e164 || seen.has(e164)) continue;
            seen.add(e164);
            const fieldLabel = this.fieldLabels[ec.Field_API_Name__c] || ec.Name;
            options.push({ value: e164, label: format(PHONE_OPTION, fieldLabel, raw), externalChannelId: ec.Id });
        }
        return options;
    }

    get hasPhones() {
        return this.phoneOptions.length > 0;
    }

    get noPhones() {
        return this.setupLoaded && (this.phoneFields.length === 0 || this.recordLoaded) && !this.hasPhones;
    }

    get isLoading() {
        return !this.errors && (!this.setupLoaded || (this.phoneFields.length > 0 && !this.recordLoaded));
    }

    // Default: the number of the most recent open conversation (the query
    // orders by LastModifiedDate, newest first), else the first number.
    get phone() {
        const values = this.phoneOptions.map((o) => o.value);
        if (this.pickedPhone && values.includes(this.pickedPhone)) return this.pickedPhone;
        const open = this.conversations.find((c) => c.Status__c === 'Open' && values.includes(recipientE164(c)));
        if (open) return recipientE164(open);
        return values[0];
    }

    get phoneOption() {
        return this.phoneOptions.find((o) => o.value === this.phone);
    }

    get threadConversations() {
        return this.conversations.filter((c) => recipientE164(c) === this.phone);
    }

    get conversationIds() {
        return this.threadConversations.map((c) => c.Id);
    }

    get hasThread() {
        return this.conversationIds.length > 0;
    }

    get openConversation() {
        return this.threadConversations.find((c) => c.Status__c === 'Open');
    }

    get openConversationId() {
        return this.openConversation ? this.openConversation.Id : undefined;
    }

    get openChannelId() {
        return this.openConversation ? this.openConversation.Channel__c : undefined;
    }

    get externalChannelId() {
        return this.phoneOption ? this.phoneOption.externalChannelId : undefined;
    }

    handlePhone(event) {
        this.pickedPhone = event.detail.value;
    }

    handleSent(event) {
        const { taskId, conversationId, body, createdConversation } = event.detail;
        if (createdConversation) {
            this.conversations = [
                { Id: conversationId, Status__c: 'Open', Message_Recipient__c: this.phone, Channel__c: null },
                ...this.conversations
            ];
        }
        // Handed over once the thread is rendered: the first message of a
        // number creates the thread in this very render.
        this.pendingSent = { taskId, conversationId, body };
        if (createdConversation) this.refreshConversations();
    }

    renderedCallback() {
        const thread = this.pendingSent && this.template.querySelector('c-switchboard-thread');
        if (thread) {
            thread.showPending(this.pendingSent);
            this.pendingSent = undefined;
        }
    }

    async handleClose() {
        const conversation = this.openConversation;
        if (!conversation || this.closing) return;
        // Stay on this number: without an open conversation the default
        // would move to another one.
        this.pickedPhone = this.phone;
        this.closing = true;
        try {
            // Closed is final: the customer's next text opens a new
            // conversation (SPEC §1, Conversation__c).
            await updateRecord({ fields: { Id: conversation.Id, Status__c: 'Closed' } });
            this.conversations = this.conversations.map((c) => (c.Id === conversation.Id ? { ...c, Status__c: 'Closed' } : c));
            this.dispatchEvent(new ShowToastEvent({ title: CONVERSATION_CLOSED, variant: 'success' }));
            this.refreshConversations();
        } catch (error) {
            this.dispatchEvent(errorToast(CLOSE_FAILED, error));
        } finally {
            this.closing = false;
        }
    }

    refreshConversations() {
        refreshWire(this.conversationsResult);
    }
}
