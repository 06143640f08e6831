/*
 * Contract — the messages (Tasks) of one or more conversations.
 * Used by switchboardChat (record pages) and switchboardInbox.
 *
 * @api conversationIds  the Conversation__c Ids (18 characters) whose Tasks to
 *                       show, oldest first; inbound left, outbound right.
 *                       Render the thread only when there is at least one:
 *                       an empty IN list is no filter to rely on.
 * @api showPending({ taskId, conversationId, body })
 *                       shows a message just sent as Pending at once, before
 *                       Salesforce reports it back
 *
 * Loads the newest page through lightning/graphql and older pages on scroll
 * (or the "Load older messages" button), with first/after. Stays live through
 * the shared switchboardChatSubscription (one filtered subscription for the
 * browser session), or a 30 s refresh where streaming is unavailable.
 * Failed, Undelivered and Error messages show Error_Description__c and a
 * Retry button, which sets Message_Status__c back to Pending (SPEC §1).
 */
import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import TASK_OBJECT from '@salesforce/schema/Task';
import MESSAGE_STATUS_FIELD from '@salesforce/schema/Task.Message_Status__c';
import THREAD_LABEL from '@salesforce/label/c.SB_Thread_Label';
import THREAD_EMPTY from '@salesforce/label/c.SB_Thread_Empty';
import LOAD_OLDER from '@salesforce/label/c.SB_Load_Older';
import INBOUND from '@salesforce/label/c.SB_Inbound';
import OUTBOUND from '@salesforce/label/c.SB_Outbound';
import NEW_MESSAGE from '@salesforce/label/c.SB_New_Message';
import RETRY from '@salesforce/label/c.SB_Retry';
import RETRY_FAILED from '@salesforce/label/c.SB_Retry_Failed';
import { register } from 'c/switchboardChatSubscription';
import { errorToast, format, nodes, refreshWire } from 'c/switchboardUtils';

export const PAGE_SIZE = 20;
// Shown with Error_Description__c; an outbound one offers Retry (SPEC §1).
const FAILED = ['Failed', 'Undelivered', 'Error'];

const TASKS_QUERY = gql`
    query switchboardThread($conversationIds: [ID], $first: Int, $after: String) {
        uiapi {
            query {
                Task(
                    where: { Conversation__c: { in: $conversationIds } }
                    first: $first
                    after: $after
                    orderBy: { CreatedDate: { order: DESC }, Id: { order: DESC } }
                ) {
                    edges {
                        node {
                            Id
                            Description {
                                value
                            }
                            Message_Type__c {
                                value
                            }
                            Message_Status__c {
                                value
                            }
                            Error_Description__c {
                                value
                            }
                            Message_Send_Date__c {
                                value
                            }
                            CreatedDate {
                                value
                            }
                            Conversation__c {
                                value
                            }
                        }
                    }
                    pageInfo {
                        hasNextPage
                        endCursor
                    }
                }
            }
        }
    }
`;

export default class SwitchboardThread extends LightningElement {
    labels = { thread: THREAD_LABEL, empty: THREAD_EMPTY, loadOlder: LOAD_OLDER, retry: RETRY };
    messagesById = new Map();
    statusLabels = {};
    recentResult;
    recentPage;
    olderPages = [];
    olderCursor;
    loadingOlder = false;
    announcement = '';
    errors;
    _conversationIds = [];
    unregister;
    connected = false;

    @api
    get conversationIds() {
        return this._conversationIds;
    }
    set conversationIds(value) {
        const ids = [...new Set((value || []).filter(Boolean))];
        if (ids.join() === this._conversationIds.join()) return;
        this._conversationIds = ids;
        // Keep what is shown of conversations still in the set (a message
        // just sent into a conversation the composer created stays).
        this.messagesById = new Map([...this.messagesById].filter(([, m]) => ids.includes(m.Conversation__c)));
        this.olderPages = [];
        this.olderCursor = undefined;
        this.recentPage = undefined;
        if (this.connected) this.listen();
    }

    /** Shows a message just sent as Pending, before Salesforce reports it. */
    @api
    showPending({ taskId, conversationId, body }) {
        if (!taskId || this.messagesById.has(taskId)) return;
        this.put({
            Id: taskId,
            Description: body,
            Message_Type__c: 'Outbound',
            Message_Status__c: 'Pending',
            CreatedDate: new Date().toISOString(),
            Conversation__c: conversationId,
            // Sorted last until Salesforce reports it: the browser's clock
            // and the server's CreatedDate need not agree.
            local: true
        });
        this.scrollToEnd();
    }

    connectedCallback() {
        this.connected = true;
        this.listen();
    }

    disconnectedCallback() {
        this.connected = false;
        if (this.unregister) this.unregister();
        this.unregister = undefined;
    }

    listen() {
        if (this.unregister) this.unregister();
        this.unregister = this._conversationIds.length
            ? register(this._conversationIds, (update) => this.handleUpdate(update))
            : undefined;
    }

    @wire(getObjectInfo, { objectApiName: TASK_OBJECT })
    taskInfo;

    @wire(getPicklistValues, { recordTypeId: '$taskInfo.data.defaultRecordTypeId', fieldApiName: MESSAGE_STATUS_FIELD })
    wiredStatuses({ data }) {
        if (!data) return;
        const labels = {};
        data.values.forEach((v) => {
            labels[v.value] = v.label;
        });
        this.statusLabels = labels;
    }

    @wire(graphql, { query: TASKS_QUERY, variables: '$recentVariables' })
    wiredRecent(result) {
        const { data, errors } = result;
        if (!data && !errors) return;
        this.recentResult = result;
        this.errors = errors;
        if (!data) return;
        const page = data.uiapi.query.Task;
        const isUpdate = !!this.recentPage;
        const before = new Set(this.messagesById.keys());
        this.recentPage = page.pageInfo;
        const messages = nodes(page);
        messages.forEach((m) => this.put(m, false));
        this.bump();
        const fresh = messages.filter((m) => !before.has(m.Id));
        if (isUpdate && fresh.length) {
            const newest = fresh[0];
            this.announcement = format(NEW_MESSAGE, newest.Description || '');
        }
        this.scrollToEnd();
    }

    @wire(graphql, { query: TASKS_QUERY, variables: '$olderVariables' })
    wiredOlder({ data, errors }) {
        if (errors) {
            this.errors = errors;
            this.loadingOlder = false;
        }
        if (!data || !this.olderCursor) return;
        const page = data.uiapi.query.Task;
        if (this.olderPages.some((p) => p.after === this.olderCursor)) return;
        this.olderPages = [...this.olderPages, { after: this.olderCursor, pageInfo: page.pageInfo }];
        nodes(page).forEach((m) => this.put(m, false));
        this.bump();
        this.loadingOlder = false;
    }

    get recentVariables() {
        return { conversationIds: this._conversationIds, first: PAGE_SIZE, after: null };
    }

    // Undefined until the user asks for older messages, so the wire stays idle.
    get olderVariables() {
        return this.olderCursor
            ? { conversationIds: this._conversationIds, first: PAGE_SIZE, after: this.olderCursor }
            : undefined;
    }

    get lastPageInfo() {
        return this.olderPages.length ? this.olderPages[this.olderPages.length - 1].pageInfo : this.recentPage;
    }

    get hasOlder() {
        return !!this.lastPageInfo && this.lastPageInfo.hasNextPage;
    }

    loadOlder() {
        if (!this.hasOlder || this.loadingOlder) return;
        this.loadingOlder = true;
        this.olderCursor = this.lastPageInfo.endCursor;
    }

    handleScroll(event) {
        if (event.target.scrollTop === 0) this.loadOlder();
    }

    handleUpdate(update) {
        // A notification carries the fields the PushTopic selects (SPEC §2):
        // a known message's new status shows at once without a query; only a
        // new message (its body) or a failed one (Error_Description__c), or
        // the 30 s fallback tick (null), needs the newest page again.
        const known = update && this.messagesById.get(update.id);
        if (known && update.status) {
            const leftPending = known.Message_Status__c === 'Pending' && update.status !== 'Pending';
            this.put({ ...known, Message_Status__c: update.status });
            // A message shown by showPending is reloaded once, for the
            // server's CreatedDate and send date. So is one that leaves
            // Pending: once Twilio accepts it, the sidecar writes the text it
            // sent (merge fields filled) into Description (SPEC §3).
            if (!FAILED.includes(update.status) && !known.local && !leftPending) return;
        }
        refreshWire(this.recentResult);
    }

    async handleRetry(event) {
        const id = event.currentTarget.dataset.id;
        const previous = this.messagesById.get(id);
        try {
            // Pending again is how a user retries (SPEC §1).
            await updateRecord({ fields: { Id: id, Message_Status__c: 'Pending' } });
            this.put({ ...previous, Message_Status__c: 'Pending' });
        } catch (error) {
            this.dispatchEvent(errorToast(RETRY_FAILED, error));
        }
    }

    put(message, render = true) {
        this.messagesById.set(message.Id, message);
        if (render) this.bump();
    }

    // A Map's contents are not tracked; a new Map re-renders.
    bump() {
        this.messagesById = new Map(this.messagesById);
    }

    get messages() {
        return [...this.messagesById.values()]
            .sort(byTime)
            .map((m) => {
                const inbound = m.Message_Type__c === 'Inbound';
                const failed = FAILED.includes(m.Message_Status__c);
                return {
                    id: m.Id,
                    body: m.Description,
                    time: m.Message_Send_Date__c || m.CreatedDate,
                    status: m.Message_Status__c,
                    statusLabel: this.statusLabels[m.Message_Status__c] || m.Message_Status__c,
                    error: failed ? m.Error_Description__c : null,
                    retryable: !inbound && failed,
                    direction: inbound ? INBOUND : OUTBOUND,
                    itemClass: `slds-chat-listitem ${inbound ? 'slds-chat-listitem_inbound' : 'slds-chat-listitem_outbound'}`,
                    bubbleClass: `slds-chat-message__text ${inbound ? 'slds-chat-message__text_inbound' : 'slds-chat-message__text_outbound'}`
                };
            });
    }

    get isEmpty() {
        return !!this.recentPage && this.messagesById.size === 0;
    }

    get isLoading() {
        return (!this.recentPage && !this.errors && this._conversationIds.length > 0) || this.loadingOlder;
    }

    scrollToEnd() {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        requestAnimationFrame(() => {
            const list = this.template.querySelector('.sb-scroller');
            if (list) list.scrollTop = list.scrollHeight;
        });
    }
}

function byTime(a, b) {
    if (!!a.local !== !!b.local) return a.local ? 1 : -1;
    if (a.CreatedDate !== b.CreatedDate) return a.CreatedDate < b.CreatedDate ? -1 : 1;
    return a.Id < b.Id ? -1 : 1;
}
