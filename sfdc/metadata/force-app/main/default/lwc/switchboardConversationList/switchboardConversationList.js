/*
 * Contract — the open conversations not bound to a record (the inbox's left
 * column), newest activity first, each with the customer's number, its
 * channel, the number of messages, the last message and its time.
 *
 * @api channelId      when set, only that Channel__c's conversations
 * @api selectedId     the conversation shown as selected
 * @api remove(id)     drops a conversation at once (closed or bound here);
 *                     the next read no longer returns it anyway
 * @api refresh()      reads the list again
 *
 * Event `select`: detail { conversation } with Id, Message_Recipient__c,
 * recipient (E.164), Channel__c, channelName.
 * Event `gone`: detail { id } when a read no longer returns the selected
 * conversation under the same filter, and this tab did not remove it: it was
 * bound or closed elsewhere (another agent, or the sidecar).
 *
 * Live, at a cost the org can afford: the shared switchboardChatSubscription
 * (filtered to the conversations listed) announces their new messages, and
 * the list is read again every 30 s for NEW conversations. Subscribing to
 * SwitchboardConversations instead would deliver every conversation change
 * of the org (creates, status, binding) to every agent's browser, each
 * counted against the daily PushTopic allocation the sidecar needs (SPEC §2,
 * salesforce ref §3.8); a GraphQL read costs none.
 */
import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import LIST_LABEL from '@salesforce/label/c.SB_Inbox_List_Label';
import EMPTY from '@salesforce/label/c.SB_Inbox_Empty';
import COUNT from '@salesforce/label/c.SB_Inbox_Count';
import COUNT_ONE from '@salesforce/label/c.SB_Inbox_Count_One';
import COUNT_AT_LEAST from '@salesforce/label/c.SB_Inbox_Count_At_Least';
import SUMMARY from '@salesforce/label/c.SB_Inbox_Summary';
import NO_MESSAGES from '@salesforce/label/c.SB_Inbox_No_Messages';
import INBOUND from '@salesforce/label/c.SB_Inbound';
import OUTBOUND from '@salesforce/label/c.SB_Outbound';
import { register, REFRESH_INTERVAL_MS } from 'c/switchboardChatSubscription';
import { format, nodes, recipientE164, refreshWire } from 'c/switchboardUtils';

// UI API GraphQL returns at most 2,000 records per page; the inbox lists the
// 50 most recently changed unbound conversations and counts their Tasks from
// one page of 2,000 (newest first), so a count can only be a lower bound
// when that page is full.
export const LIST_SIZE = 50;
export const TASK_PAGE = 2000;

export default class SwitchboardConversationList extends LightningElement {
    @api selectedId;

    labels = { list: LIST_LABEL, empty: EMPTY };
    conversations = [];
    conversationsLoaded = false;
    conversationsResult;
    tasks = [];
    tasksTruncated = false;
    tasksResult;
    taskVars;
    removed = new Set();
    readKey;
    errors;
    timer;
    unregister;
    registeredKey = '';
    _channelId;

    @api
    get channelId() {
        return this._channelId;
    }
    set channelId(value) {
        this._channelId = value || undefined;
    }

    @api
    remove(id) {
        this.removed = new Set([...this.removed, id]);
        this.syncSubscription();
    }

    @api
    refresh() {
        refreshWire(this.conversationsResult);
        refreshWire(this.tasksResult);
    }

    connectedCallback() {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.timer = setInterval(() => refreshWire(this.conversationsResult), REFRESH_INTERVAL_MS);
    }

    disconnectedCallback() {
        clearInterval(this.timer);
        if (this.unregister) this.unregister();
        this.unregister = undefined;
        this.registeredKey = '';
    }

    @wire(graphql, {
        query: gql`
            query switchboardInbox($where: Conversation__c_Filter, $first: Int) {
                uiapi {
                    query {
                        Conversation__c(where: $where, first: $first, orderBy: { LastModifiedDate: { order: DESC } }) {
                            edges {
                                node {
                                    Id
                                    Message_Recipient__c {
                                        value
                                    }
                                    Channel__c {
                                        value
                                    }
                                    Channel__r {
                                        Name {
                                            value
                                        }
                                    }
                                    CreatedDate {
                                        value
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: '$listVariables'
    })
    wiredConversations(result) {
        const { data, errors } = result;
        if (!data && !errors) return;
        this.conversationsResult = result;
        this.errors = errors;
        if (!data) return;
        const before = this.conversations;
        const beforeKey = this.readKey;
        this.conversations = nodes(data.uiapi.query.Conversation__c);
        this.readKey = JSON.stringify(this.listVariables);
        this.conversationsLoaded = true;
        const id = this.selectedId;
        if (
            id &&
            beforeKey === this.readKey &&
            !this.removed.has(id) &&
            before.some((c) => c.Id === id) &&
            !this.conversations.some((c) => c.Id === id)
        ) {
            this.dispatchEvent(new CustomEvent('gone', { detail: { id } }));
        }
        // An empty IN list is no filter to rely on: no list, no Task query.
        // The same variables while the listed Ids stay the same, so the 30 s
        // list read does not re-run the Task query.
        const ids = this.conversations.map((c) => c.Id);
        if (!ids.length) this.taskVars = undefined;
        else if (!this.taskVars || this.taskVars.listedIds.join() !== ids.join()) {
            this.taskVars = { listedIds: ids, first: TASK_PAGE };
        }
        this.syncSubscription();
    }

    // The listed conversations' Tasks in switchboardThread's order (newest
    // first, Id breaking ties), so an item's last message is the one its
    // thread ends with. A query of its own: it reads only the fields an item
    // shows, all the conversations' Tasks in one page.
    @wire(graphql, {
        query: gql`
            query switchboardInboxTasks($listedIds: [ID], $first: Int) {
                uiapi {
                    query {
                        Task(
                            where: { Conversation__c: { in: $listedIds } }
                            first: $first
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
                            }
                        }
                    }
                }
            }
        `,
        variables: '$taskVariables'
    })
    wiredTasks(result) {
        const { data, errors } = result;
        if (!data && !errors) return;
        this.tasksResult = result;
        if (errors) this.errors = errors;
        if (!data) return;
        this.tasks = nodes(data.uiapi.query.Task);
        this.tasksTruncated = !!data.uiapi.query.Task.pageInfo.hasNextPage;
    }

    // Unbound: Record_Id__c empty. Open only: a closed thread needs no
    // answer, and the customer's next text opens a new one (SPEC §1).
    get listVariables() {
        const and = [{ Status__c: { eq: 'Open' } }, { Record_Id__c: { eq: null } }];
        if (this._channelId) and.push({ Channel__c: { eq: this._channelId } });
        return { where: { and }, first: LIST_SIZE };
    }

    get listed() {
        return this.conversations.filter((c) => !this.removed.has(c.Id));
    }

    get taskVariables() {
        return this.taskVars;
    }

    get items() {
        const byConversation = new Map();
        for (const t of this.tasks) {
            const entry = byConversation.get(t.Conversation__c);
            if (entry) entry.count++;
            else byConversation.set(t.Conversation__c, { count: 1, last: t });
        }
        return this.listed
            .map((c) => {
                const entry = byConversation.get(c.Id);
                const last = entry ? entry.last : undefined;
                const count = entry ? entry.count : 0;
                const selected = c.Id === this.selectedId;
                return {
                    id: c.Id,
                    recipient: recipientE164(c) || c.Message_Recipient__c,
                    channelName: c.Channel__r ? c.Channel__r.Name : '',
                    count: messageCount(count, this.tasksTruncated),
                    lastBody: last ? last.Description : NO_MESSAGES,
                    lastDirection: last ? (last.Message_Type__c === 'Inbound' ? INBOUND : OUTBOUND) : '',
                    activity: last ? last.CreatedDate : c.CreatedDate,
                    ariaCurrent: selected ? 'true' : 'false',
                    className: selected ? 'slds-item sb-item sb-selected' : 'slds-item sb-item',
                    conversation: c
                };
            })
            .sort((a, b) => String(b.activity).localeCompare(String(a.activity)));
    }

    // Screen readers hear when the 30 s read brings a new conversation.
    get summary() {
        return this.conversationsLoaded ? format(SUMMARY, this.listed.length) : '';
    }

    get isEmpty() {
        return this.conversationsLoaded && this.listed.length === 0;
    }

    get isLoading() {
        return !this.conversationsLoaded && !this.errors;
    }

    handleSelect(event) {
        const id = event.currentTarget.dataset.id;
        const item = this.items.find((i) => i.id === id);
        if (!item) return;
        const c = item.conversation;
        this.dispatchEvent(
            new CustomEvent('select', {
                detail: {
                    conversation: {
                        Id: c.Id,
                        Message_Recipient__c: c.Message_Recipient__c,
                        recipient: recipientE164(c),
                        Channel__c: c.Channel__c,
                        channelName: item.channelName
                    }
                }
            })
        );
    }

    // One registration for the listed conversations: a new message (or a
    // status change) in one of them re-reads the counts; null means
    // streaming is unavailable, and the 30 s list read covers it.
    syncSubscription() {
        const ids = this.listed.map((c) => c.Id);
        const key = [...ids].sort().join(',');
        if (key === this.registeredKey) return;
        if (this.unregister) this.unregister();
        this.registeredKey = key;
        this.unregister = ids.length
            ? register(ids, (update) => {
                  if (!update || update.eventType === 'created') refreshWire(this.tasksResult);
              })
            : undefined;
    }
}

// messageCount says how many messages a conversation has; Custom Labels
// have no plural forms, so exactly one has a label of its own. When the
// Task page was full, a count is a lower bound ("3+ messages").
function messageCount(count, truncated) {
    if (truncated && count) return format(COUNT_AT_LEAST, count);
    return count === 1 ? COUNT_ONE : format(COUNT, count);
}
