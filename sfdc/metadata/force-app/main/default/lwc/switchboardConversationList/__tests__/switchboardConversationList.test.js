import { createElement } from 'lwc';
import SwitchboardConversationList from 'c/switchboardConversationList';
import { graphql } from 'lightning/graphql';
import { subscribe, unsubscribe, isEmpEnabled } from 'lightning/empApi';
import { settled } from 'c/switchboardChatSubscription';

jest.mock('@salesforce/label/c.SB_Inbox_Count', () => ({ default: '{0} messages' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Inbox_Summary', () => ({ default: '{0} open conversations without a record' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Inbox_Count_One', () => ({ default: '1 message' }), { virtual: true });
jest.mock('@salesforce/label/c.SB_Inbox_Count_At_Least', () => ({ default: '{0}+ messages' }), { virtual: true });

const conversations = require('./data/conversations.json');
const tasks = require('./data/tasks.json');

const SMS_OLD = 'a03aK000001Jn4cQAC';
const WHATSAPP = 'a03aK000001Jn5dQAC';
const SMS_NEW = 'a03aK000001Jn6eQAC';
const SMS_CHANNEL = 'a02aK000000Ch1aQAC';

const isList = (config) => !!config.variables && 'where' in config.variables;
const isTasks = (config) => !!config.variables && 'listedIds' in config.variables;

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

let listRefresh;
let taskRefresh;
let streamHandler;

async function mount(props = {}) {
    const element = createElement('c-switchboard-conversation-list', { is: SwitchboardConversationList });
    Object.assign(element, props);
    document.body.appendChild(element);
    await flush();
    return element;
}

async function load(element, list = conversations, taskData = tasks) {
    graphql.emit(list, isList, listRefresh);
    await flush();
    graphql.emit(taskData, isTasks, taskRefresh);
    await flush();
    return element;
}

const rows = (element) =>
    [...element.shadowRoot.querySelectorAll('li')].map((li) => ({
        recipient: li.querySelector('.sb-recipient').textContent,
        channel: li.querySelector('.sb-channel').textContent,
        count: li.querySelector('.sb-count').textContent,
        last: li.querySelector('.sb-last').textContent.trim(),
        time: li.querySelector('.sb-time').value
    }));

function lastConfig(filter) {
    const seen = [];
    graphql.emit(undefined, (config) => {
        if (filter(config)) seen.push(config);
        return false;
    });
    return seen[seen.length - 1];
}

describe('c-switchboard-conversation-list', () => {
    beforeEach(() => {
        listRefresh = jest.fn().mockResolvedValue(undefined);
        taskRefresh = jest.fn().mockResolvedValue(undefined);
        isEmpEnabled.mockResolvedValue(true);
        subscribe.mockImplementation((channel, replayId, cb) => {
            streamHandler = cb;
            return Promise.resolve({ channel, replayId });
        });
        unsubscribe.mockResolvedValue({});
    });

    afterEach(async () => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        await flush();
        await settled();
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('asks for open conversations without a record, 50 at most', async () => {
        await mount();
        expect(lastConfig(isList).variables).toEqual({
            where: { and: [{ Status__c: { eq: 'Open' } }, { Record_Id__c: { eq: null } }] },
            first: 50
        });
        // No conversations yet: no Task query (an empty IN list is no filter).
        expect(lastConfig(isTasks)).toBeUndefined();
    });

    it('lists them newest activity first with number, channel, count and last message', async () => {
        const element = await load(await mount());
        expect(lastConfig(isTasks).variables).toEqual({ listedIds: [SMS_OLD, WHATSAPP, SMS_NEW], first: 2000 });
        expect(rows(element)).toEqual([
            { recipient: '+447700900123', channel: 'Support WhatsApp', count: '3 messages', last: 'c.SB_InboundIs my order 4411 shipped yet?', time: '2026-12-03T14:10:05.000Z' },
            { recipient: '+16505550199', channel: 'US Support SMS', count: '0 messages', last: 'c.SB_Inbox_No_Messages', time: '2026-12-03T13:58:10.000Z' },
            { recipient: '+14155550142', channel: 'US Support SMS', count: '2 messages', last: 'c.SB_OutboundHello, which order number is it?', time: '2026-12-03T10:02:11.000Z' }
        ]);
        await expect(element).toBeAccessible();
    });

    it('says "1 message", not "1 messages", for a conversation with one message', async () => {
        const one = JSON.parse(JSON.stringify(tasks));
        const edges = one.uiapi.query.Task.edges;
        const twice = edges.filter((e) => e.node.Conversation__c.value === 'a03aK000001Jn4cQAC');
        edges.splice(edges.indexOf(twice[1]), 1);
        const element = await load(await mount(), conversations, one);
        expect(rows(element).map((r) => r.count)).toEqual(['3 messages', '0 messages', '1 message']);
    });

    it('says the counts are lower bounds when the Task page is full', async () => {
        const full = JSON.parse(JSON.stringify(tasks));
        full.uiapi.query.Task.pageInfo.hasNextPage = true;
        const element = await load(await mount(), conversations, full);
        expect(rows(element).map((r) => r.count)).toEqual(['3+ messages', '0 messages', '2+ messages']);
    });

    it('filters by channel in the query', async () => {
        await mount({ channelId: SMS_CHANNEL });
        expect(lastConfig(isList).variables.where).toEqual({
            and: [{ Status__c: { eq: 'Open' } }, { Record_Id__c: { eq: null } }, { Channel__c: { eq: SMS_CHANNEL } }]
        });
    });

    it('tells which conversation was chosen and marks it', async () => {
        const element = await load(await mount());
        const select = jest.fn();
        element.addEventListener('select', select);
        element.shadowRoot.querySelector(`button[data-id="${WHATSAPP}"]`).click();
        expect(select.mock.calls[0][0].detail).toEqual({
            conversation: {
                Id: WHATSAPP,
                Message_Recipient__c: 'whatsapp:+447700900123',
                recipient: '+447700900123',
                Channel__c: 'a02aK000000Ch2bQAC',
                channelName: 'Support WhatsApp'
            }
        });
        element.selectedId = WHATSAPP;
        await flush();
        const current = [...element.shadowRoot.querySelectorAll('button')].map((b) => b.getAttribute('aria-current'));
        expect(current).toEqual(['true', 'false', 'false']);
        await expect(element).toBeAccessible();
    });

    it('re-reads the counts when a listed conversation gets a message', async () => {
        await load(await mount());
        await settled();
        expect(subscribe).toHaveBeenCalledWith(
            `/topic/SwitchboardChat?Conversation__c='${SMS_OLD}'&Conversation__c='${WHATSAPP}'&Conversation__c='${SMS_NEW}'`,
            -1,
            expect.any(Function)
        );
        // A status change alters no count.
        streamHandler({ data: { event: { type: 'updated' }, sobject: { Id: '00TaK00000DyR8zUAF', Conversation__c: SMS_OLD, Message_Status__c: 'Delivered' } } });
        expect(taskRefresh).not.toHaveBeenCalled();
        streamHandler({ data: { event: { type: 'created' }, sobject: { Id: '00TaK00000DyS1aUAF', Conversation__c: SMS_NEW, Message_Type__c: 'Inbound', Message_Status__c: 'Received' } } });
        expect(taskRefresh).toHaveBeenCalledTimes(1);
    });

    it('does not re-run the Task query when a list read brings the same conversations', async () => {
        await load(await mount());
        const before = lastConfig(isTasks).variables;
        graphql.emit(JSON.parse(JSON.stringify(conversations)), isList, listRefresh);
        await flush();
        expect(lastConfig(isTasks).variables).toBe(before);
        const fewer = JSON.parse(JSON.stringify(conversations));
        fewer.uiapi.query.Conversation__c.edges.pop();
        graphql.emit(fewer, isList, listRefresh);
        await flush();
        expect(lastConfig(isTasks).variables).toEqual({ listedIds: [SMS_OLD, WHATSAPP], first: 2000 });
    });

    it('looks for new conversations every 30 s, and stops when gone', async () => {
        jest.useFakeTimers();
        const element = await load(await mount());
        jest.advanceTimersByTime(30000);
        expect(listRefresh).toHaveBeenCalledTimes(1);
        document.body.removeChild(element);
        jest.advanceTimersByTime(60000);
        expect(listRefresh).toHaveBeenCalledTimes(1);
    });

    it('drops a conversation closed or bound here at once and listens to the rest', async () => {
        const element = await load(await mount());
        await settled();
        element.remove(WHATSAPP);
        await flush();
        await settled();
        expect(rows(element).map((r) => r.recipient)).toEqual(['+16505550199', '+14155550142']);
        expect(subscribe).toHaveBeenLastCalledWith(
            `/topic/SwitchboardChat?Conversation__c='${SMS_OLD}'&Conversation__c='${SMS_NEW}'`,
            -1,
            expect.any(Function)
        );
        element.refresh();
        expect(listRefresh).toHaveBeenCalledTimes(1);
        expect(taskRefresh).toHaveBeenCalledTimes(1);
    });

    it('announces how many conversations wait when a read brings a new one', async () => {
        const element = await load(await mount());
        const live = element.shadowRoot.querySelector('[aria-live="polite"]');
        expect(live.textContent).toBe('3 open conversations without a record');
        const more = JSON.parse(JSON.stringify(conversations));
        more.uiapi.query.Conversation__c.edges.unshift({
            node: {
                Id: 'a03aK000001Jn7fQAC',
                Message_Recipient__c: { value: '+13125550173' },
                Channel__c: { value: SMS_CHANNEL },
                Channel__r: { Name: { value: 'US Support SMS' } },
                CreatedDate: { value: '2026-12-03T14:20:00.000Z' }
            }
        });
        graphql.emit(more, isList, listRefresh);
        await flush();
        expect(live.textContent).toBe('4 open conversations without a record');
        expect(rows(element)[0].recipient).toBe('+13125550173');
    });

    it('tells when the chosen conversation was bound or closed elsewhere', async () => {
        const element = await load(await mount({ selectedId: SMS_OLD }));
        const gone = jest.fn();
        element.addEventListener('gone', gone);
        const without = JSON.parse(JSON.stringify(conversations));
        without.uiapi.query.Conversation__c.edges.shift();
        graphql.emit(without, isList, listRefresh);
        await flush();
        expect(gone).toHaveBeenCalledTimes(1);
        expect(gone.mock.calls[0][0].detail).toEqual({ id: SMS_OLD });
    });

    it('does not call a conversation gone that a channel filter or this tab removed', async () => {
        const element = await load(await mount({ selectedId: WHATSAPP }));
        const gone = jest.fn();
        element.addEventListener('gone', gone);
        element.channelId = SMS_CHANNEL;
        await flush();
        const sms = JSON.parse(JSON.stringify(conversations));
        sms.uiapi.query.Conversation__c.edges.splice(1, 1);
        graphql.emit(sms, isList, listRefresh);
        await flush();
        element.selectedId = SMS_OLD;
        element.remove(SMS_OLD);
        sms.uiapi.query.Conversation__c.edges.shift();
        graphql.emit(sms, isList, listRefresh);
        await flush();
        expect(gone).not.toHaveBeenCalled();
    });

    it('says when there is nothing to answer', async () => {
        const element = await mount();
        graphql.emit({ uiapi: { query: { Conversation__c: { edges: [] } } } }, isList, listRefresh);
        await flush();
        expect(element.shadowRoot.querySelector('.sb-empty').textContent).toBe('c.SB_Inbox_Empty');
        expect(element.shadowRoot.querySelectorAll('li')).toHaveLength(0);
        await expect(element).toBeAccessible();
    });

    it('shows why the list cannot load', async () => {
        const element = await mount();
        graphql.emitErrors([{ message: "Cannot query field 'Record_Id__c' on type 'Conversation__c'." }], isList);
        await flush();
        expect(element.shadowRoot.querySelector('c-switchboard-error-panel').errors).toEqual([
            { message: "Cannot query field 'Record_Id__c' on type 'Conversation__c'." }
        ]);
        expect(element.shadowRoot.querySelector('c-switchboard-loading')).toBeNull();
        await expect(element).toBeAccessible();
    });
});
