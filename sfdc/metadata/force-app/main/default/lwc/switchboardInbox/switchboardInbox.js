import { LightningElement, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { updateRecord } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import TITLE from '@salesforce/label/c.SB_Inbox_Title';
import CHANNEL_FILTER from '@salesforce/label/c.SB_Inbox_Channel_Filter';
import ALL_CHANNELS from '@salesforce/label/c.SB_Inbox_All_Channels';
import PICK from '@salesforce/label/c.SB_Inbox_Pick';
import GONE from '@salesforce/label/c.SB_Inbox_Gone';
import NEW_CONTACT from '@salesforce/label/c.SB_Inbox_New_Contact';
import NEW_LEAD from '@salesforce/label/c.SB_Inbox_New_Lead';
import BIND from '@salesforce/label/c.SB_Inbox_Bind';
import ACTIONS from '@salesforce/label/c.SB_Inbox_Actions';
import BOUND from '@salesforce/label/c.SB_Inbox_Bound';
import BIND_FAILED from '@salesforce/label/c.SB_Inbox_Bind_Failed';
import CLOSE_CONVERSATION from '@salesforce/label/c.SB_Close_Conversation';
import CONVERSATION_CLOSED from '@salesforce/label/c.SB_Conversation_Closed';
import CLOSE_FAILED from '@salesforce/label/c.SB_Close_Failed';
import { errorToast, format, nodes } from 'c/switchboardUtils';

// Channels and External Channels are configuration: a few rows each.
const SETUP_SIZE = 200;
const MODES = { thread: 'thread', contact: 'contact', lead: 'lead', bind: 'bind' };

// The Inbound Messages tab: open conversations no record claims (the sidecar
// binds a conversation itself when exactly one record has the number, SPEC
// §3), the selected one's thread and composer, and the agent's ways to give
// it a record — new Contact or Lead, or an existing record — or close it.
export default class SwitchboardInbox extends LightningElement {
    labels = {
        title: TITLE,
        channelFilter: CHANNEL_FILTER,
        pick: PICK,
        gone: GONE,
        newContact: NEW_CONTACT,
        newLead: NEW_LEAD,
        bind: BIND,
        actions: ACTIONS,
        close: CLOSE_CONVERSATION
    };
    channels = [];
    externalChannels = [];
    errors;
    channelId = '';
    selected;
    mode = MODES.thread;
    busy = false;
    gone = false;

    @wire(graphql, {
        query: gql`
            query switchboardInboxSetup($first: Int) {
                uiapi {
                    query {
                        Channel__c(first: $first, orderBy: { Name: { order: ASC } }) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                }
                            }
                        }
                        External_Channel__c(first: $first, orderBy: { Name: { order: ASC } }) {
                            edges {
                                node {
                                    Id
                                    Object_API_Name__c {
                                        value
                                    }
                                    Field_API_Name__c {
                                        value
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: { first: SETUP_SIZE }
    })
    wiredSetup({ data, errors }) {
        this.errors = errors;
        if (!data) return;
        this.channels = nodes(data.uiapi.query.Channel__c);
        this.externalChannels = nodes(data.uiapi.query.External_Channel__c);
    }

    get channelOptions() {
        return [{ label: ALL_CHANNELS, value: '' }, ...this.channels.map((c) => ({ label: c.Name, value: c.Id }))];
    }

    get selectedId() {
        return this.selected ? this.selected.Id : undefined;
    }

    // Bound or closed elsewhere: its thread stays readable, but binding,
    // closing or answering it here would act on a conversation that has
    // left the inbox (a second binding would move its Tasks again).
    get active() {
        return !!this.selected && !this.gone;
    }

    get isNewContact() {
        return this.active && this.mode === MODES.contact;
    }

    get isNewLead() {
        return this.active && this.mode === MODES.lead;
    }

    get isBind() {
        return this.active && this.mode === MODES.bind;
    }

    get conversationIds() {
        return this.selected ? [this.selected.Id] : [];
    }

    get list() {
        return this.template.querySelector('c-switchboard-conversation-list');
    }

    handleChannel(event) {
        this.channelId = event.detail.value;
    }

    handleSelect(event) {
        this.selected = event.detail.conversation;
        this.mode = MODES.thread;
        this.gone = false;
    }

    handleGone(event) {
        if (this.selected && event.detail.id === this.selected.Id) this.gone = true;
    }

    handleNewContact() {
        this.mode = MODES.contact;
    }

    handleNewLead() {
        this.mode = MODES.lead;
    }

    handleBind() {
        this.mode = MODES.bind;
    }

    handleCancel() {
        this.mode = MODES.thread;
    }

    // The composer sends into the selected conversation, whose thread is on
    // screen: show the message there at once, as Pending.
    handleSent(event) {
        const { taskId, conversationId, body } = event.detail;
        const thread = this.template.querySelector('c-switchboard-thread');
        if (thread) thread.showPending({ taskId, conversationId, body });
    }

    // A child created or picked the customer's record (and wrote the number
    // into one of its phone fields, if asked). Binding is one update here:
    // Record_Id__c is what the sidecar watches to move the thread's Tasks to
    // the record (SPEC §3, Conversations); External_Channel__c records which
    // phone field holds the number, when an External Channel names it.
    async handleRecord(event) {
        const { recordId, objectApiName, phoneField, name } = event.detail;
        const conversation = this.selected;
        if (!conversation || this.busy) return;
        const fields = { Id: conversation.Id, Record_Id__c: recordId };
        const match = this.externalChannels.find(
            (ec) => phoneField && ec.Object_API_Name__c === objectApiName && ec.Field_API_Name__c === phoneField
        );
        if (match) fields.External_Channel__c = match.Id;
        await this.finish(fields, format(BOUND, conversation.recipient || conversation.Message_Recipient__c, name || recordId), BIND_FAILED);
    }

    async handleClose() {
        const conversation = this.selected;
        if (!conversation || this.busy) return;
        // Closed is final: the customer's next text opens a new
        // conversation (SPEC §1, Conversation__c).
        await this.finish({ Id: conversation.Id, Status__c: 'Closed' }, CONVERSATION_CLOSED, CLOSE_FAILED);
    }

    // Either way the conversation leaves the inbox; a refusal keeps it
    // selected, with Salesforce's reason in a toast.
    async finish(fields, success, failure) {
        this.busy = true;
        try {
            await updateRecord({ fields });
            this.list.remove(fields.Id);
            this.list.refresh();
            this.selected = undefined;
            this.mode = MODES.thread;
            this.dispatchEvent(new ShowToastEvent({ title: success, variant: 'success' }));
        } catch (error) {
            this.dispatchEvent(errorToast(failure, error));
        } finally {
            this.busy = false;
        }
    }
}
