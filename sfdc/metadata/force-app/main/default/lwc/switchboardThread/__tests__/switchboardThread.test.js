import { createElement } from 'lwc';
import SwitchboardThread from 'c/switchboardThread';
import { graphql } from 'lightning/graphql';
import { updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import { subscribe, unsubscribe, isEmpEnabled } from 'lightning/empApi';

const tasksRecent = require('./data/tasksRecent.json');
const tasksOlder = require('./data/tasksOlder.json');
const tasksAfterReply = require('./data/tasksAfterReply.json');
const taskObjectInfo = require('./data/taskObjectInfo.json');
const statusValuesDe = require('./data/messageStatusValuesDe.json');

// The one label whose placeholder this test reads.
jest.mock('@salesforce/label/c.SB_New_Message', () => ({ default: 'New message: {0}' }), { virtual: true });

const OPEN = 'a03aK000001Jm2aQAC';
const CLOSED = 'a03aK000001Jm1zQAC';

const isRecent = (config) => !!config.variables && config.variables.after === null;
const isOlder = (cursor) => (config) => !!config.variables && config.variables.after === cursor;

async function flush() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

let streamHandler;

// A SwitchboardChat notification (SPEC §2 fields) about conversation OPEN.
function notify(event, sobject) {
    streamHandler({ channel: '/topic/SwitchboardChat', data: { event, sobject: { Conversation__c: OPEN, ...sobject } } });
}
let refresh;

// Resolves once the wires hold their reactive configuration.
async function mount(ids = [OPEN, CLOSED]) {
    const element = createElement('c-switchboard-thread', { is: SwitchboardThread });
    element.conversationIds = ids;
    document.body.appendChild(element);
    await flush();
    return element;
}

function bodies(element) {
    return [...element.shadowRoot.querySelectorAll('.sb-body')].map((n) => n.textContent);
}

function item(element, id) {
    return element.shadowRoot.querySelector(`li[data-id="${id}"]`);
}

function badge(element, id) {
    return item(element, id).querySelector('c-switchboard-status-badge');
}

describe('c-switchboard-thread', () => {
    beforeEach(() => {
        refresh = jest.fn().mockResolvedValue(undefined);
        isEmpEnabled.mockResolvedValue(true);
        subscribe.mockImplementation((channel, replayId, cb) => {
            streamHandler = cb;
            return Promise.resolve({ channel, replayId });
        });
        unsubscribe.mockResolvedValue({});
        window.requestAnimationFrame = (cb) => cb();
    });

    afterEach(async () => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        await flush();
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('asks for the newest page of its conversations and shows it oldest first', async () => {
        const element = await mount();
        await flush();
        expect(graphql.getLastConfig()).toBeDefined();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();

        expect(bodies(element)).toEqual([
            'Hi Ada, can we meet on Friday at 3pm?',
            'Yes, Friday 3pm works for me.',
            'Your appointment is confirmed for Friday 3pm.'
        ]);
        // Inbound left, outbound right (SLDS chat).
        expect(item(element, '00TaK00000DxQ2wUAF').classList).toContain('slds-chat-listitem_inbound');
        expect(item(element, '00TaK00000DxQ1vUAF').classList).toContain('slds-chat-listitem_outbound');
        // Failed: the reason under it and a Retry; others have neither.
        const failed = item(element, '00TaK00000DxQ3xUAF');
        expect(failed.querySelector('.sb-error').textContent).toBe('Twilio error 30003: Unreachable destination handset.');
        expect(failed.querySelector('.sb-retry')).not.toBeNull();
        expect(item(element, '00TaK00000DxQ1vUAF').querySelector('.sb-error')).toBeNull();
        expect(element.shadowRoot.querySelectorAll('.sb-retry')).toHaveLength(1);
        // Time from the send date, status as a badge.
        const time = item(element, '00TaK00000DxQ1vUAF').querySelector('lightning-formatted-date-time');
        expect(time.value).toBe('2026-12-03T14:00:04.000Z');
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Sent');
        await expect(element).toBeAccessible();
    });

    it('labels statuses with the picklist labels of the user language', async () => {
        const element = await mount();
        getObjectInfo.emit(taskObjectInfo);
        await flush();
        getPicklistValues.emit(statusValuesDe);
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        expect(getPicklistValues.getLastConfig().recordTypeId).toBe('012000000000000AAA');
        expect(badge(element, '00TaK00000DxQ3xUAF').label).toBe('Fehlgeschlagen');
        expect(badge(element, '00TaK00000DxQ2wUAF').label).toBe('Empfangen');
    });

    it('retries a failed message by setting it back to Pending', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        item(element, '00TaK00000DxQ3xUAF').querySelector('.sb-retry').click();
        await flush();
        expect(updateRecord).toHaveBeenCalledTimes(1);
        expect(updateRecord).toHaveBeenCalledWith({ fields: { Id: '00TaK00000DxQ3xUAF', Message_Status__c: 'Pending' } });
        expect(badge(element, '00TaK00000DxQ3xUAF').status).toBe('Pending');
        expect(item(element, '00TaK00000DxQ3xUAF').querySelector('.sb-retry')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('says why a retry was not saved', async () => {
        updateRecord.mockRejectedValueOnce({
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: {
                    errors: [{ errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'You do not have access to edit this task.' }],
                    fieldErrors: {}
                }
            }
        });
        const element = await mount();
        const toast = jest.fn();
        element.addEventListener('lightning__showtoast', toast);
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        item(element, '00TaK00000DxQ3xUAF').querySelector('.sb-retry').click();
        await flush();
        expect(toast).toHaveBeenCalledTimes(1);
        expect(toast.mock.calls[0][0].detail).toEqual({
            title: 'c.SB_Retry_Failed',
            message: 'You do not have access to edit this task.',
            variant: 'error'
        });
        expect(badge(element, '00TaK00000DxQ3xUAF').status).toBe('Failed');
    });

    it('follows the shared filtered subscription: status at once, new messages on refresh, announced', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        expect(subscribe).toHaveBeenCalledTimes(1);
        expect(subscribe.mock.calls[0][0]).toBe(
            `/topic/SwitchboardChat?Conversation__c='${CLOSED}'&Conversation__c='${OPEN}'`
        );

        notify({ createdDate: '2026-12-03T14:03:00.000Z', replayId: 9, type: 'updated' }, { Id: '00TaK00000DxQ1vUAF', Message_Type__c: 'Outbound', Message_Status__c: 'Delivered' });
        await flush();
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Delivered');
        // The notification said all there is to say: no query.
        expect(refresh).not.toHaveBeenCalled();

        // A new inbound message: the notification names it, the refresh brings it.
        notify({ createdDate: '2026-12-03T14:05:11.000Z', replayId: 10, type: 'created' }, { Id: '00TaK00000DxQ4yUAF', Message_Type__c: 'Inbound', Message_Status__c: 'Received' });
        expect(refresh).toHaveBeenCalledTimes(1);
        graphql.emit(tasksAfterReply, isRecent, refresh);
        await flush();
        expect(bodies(element).slice(-1)).toEqual(['Could we make it 4pm instead?']);
        // The first message fell off the newest page; it keeps the status
        // its notification gave it.
        expect(bodies(element)).toHaveLength(4);
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Delivered');
        const live = element.shadowRoot.querySelector('[aria-live="polite"]');
        expect(live.textContent).toBe('New message: Could we make it 4pm instead?');
        await expect(element).toBeAccessible();
    });

    it('reloads a message once when it leaves Pending, for the text the sidecar sent', async () => {
        const element = await mount();
        const pending = JSON.parse(JSON.stringify(tasksRecent));
        const node = pending.uiapi.query.Task.edges.map((e) => e.node).find((n) => n.Id === '00TaK00000DxQ1vUAF');
        node.Message_Status__c.value = 'Pending';
        graphql.emit(pending, isRecent, refresh);
        await flush();
        notify({ createdDate: '2026-12-03T14:03:00.000Z', replayId: 12, type: 'updated' }, { Id: '00TaK00000DxQ1vUAF', Message_Type__c: 'Outbound', Message_Status__c: 'Queued' });
        await flush();
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Queued');
        expect(refresh).toHaveBeenCalledTimes(1);
        // Later statuses change nothing but the badge.
        notify({ createdDate: '2026-12-03T14:03:05.000Z', replayId: 13, type: 'updated' }, { Id: '00TaK00000DxQ1vUAF', Message_Type__c: 'Outbound', Message_Status__c: 'Delivered' });
        await flush();
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Delivered');
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('reloads a message that failed, for its error text', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        notify({ createdDate: '2026-12-03T14:03:30.000Z', replayId: 11, type: 'updated' }, { Id: '00TaK00000DxQ1vUAF', Message_Type__c: 'Outbound', Message_Status__c: 'Undelivered' });
        await flush();
        expect(badge(element, '00TaK00000DxQ1vUAF').status).toBe('Undelivered');
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('refreshes every 30 s where streaming is not available', async () => {
        jest.useFakeTimers();
        isEmpEnabled.mockResolvedValue(false);
        await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        expect(subscribe).not.toHaveBeenCalled();
        jest.advanceTimersByTime(30000);
        expect(refresh).toHaveBeenCalledTimes(1);
        jest.advanceTimersByTime(30000);
        expect(refresh).toHaveBeenCalledTimes(2);
    });

    it('loads older messages on scroll to the top, above the newer ones', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        const scroller = element.shadowRoot.querySelector('.sb-scroller');
        scroller.scrollTop = 0;
        scroller.dispatchEvent(new CustomEvent('scroll'));
        await flush();
        const older = isOlder('djE6Mg==');
        const asked = [];
        graphql.emit(tasksOlder, (config) => {
            if (older(config)) asked.push(config.variables);
            return older(config);
        });
        await flush();
        expect(asked).toEqual([{ conversationIds: [OPEN, CLOSED], first: 20, after: 'djE6Mg==' }]);
        expect(bodies(element)[0]).toBe('Welcome to Acme Dental. Reply STOP to opt out.');
        expect(bodies(element)).toHaveLength(4);
        // The last page: no more "Load older messages".
        expect(element.shadowRoot.querySelector('.sb-load-older')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('loads older messages with the button, for keyboard users', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        element.shadowRoot.querySelector('.sb-load-older').click();
        await flush();
        graphql.emit(tasksOlder, isOlder('djE6Mg=='));
        await flush();
        expect(bodies(element)[0]).toBe('Welcome to Acme Dental. Reply STOP to opt out.');
    });

    it('shows a message just sent as Pending at once', async () => {
        const element = await mount();
        graphql.emit(tasksRecent, isRecent, refresh);
        await flush();
        element.showPending({ taskId: '00TaK00000DxQ5zUAF', conversationId: OPEN, body: 'See you at 4pm.' });
        await flush();
        expect(bodies(element).slice(-1)).toEqual(['See you at 4pm.']);
        expect(badge(element, '00TaK00000DxQ5zUAF').status).toBe('Pending');
        expect(refresh).not.toHaveBeenCalled();

        // Its creation is notified: reloaded once for the server's dates.
        notify({ createdDate: '2026-12-03T14:06:00.000Z', replayId: 12, type: 'created' }, { Id: '00TaK00000DxQ5zUAF', Message_Type__c: 'Outbound', Message_Status__c: 'Pending' });
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('says so when there are no messages, and shows query errors', async () => {
        const element = await mount([OPEN]);
        graphql.emit({ uiapi: { query: { Task: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } } } } }, isRecent);
        await flush();
        expect(element.shadowRoot.querySelector('.sb-empty').textContent).toBe('c.SB_Thread_Empty');
        await expect(element).toBeAccessible();

        graphql.emitErrors([{ message: "Cannot query field 'Error_Description__c' on type 'Task'", locations: [], path: [] }], isRecent);
        await flush();
        const panel = element.shadowRoot.querySelector('c-switchboard-error-panel');
        expect(panel.errors).toEqual([{ message: "Cannot query field 'Error_Description__c' on type 'Task'", locations: [], path: [] }]);
        await expect(element).toBeAccessible();
    });

    it('leaves the subscription when removed', async () => {
        const element = await mount([OPEN]);
        await flush();
        expect(subscribe).toHaveBeenCalledTimes(1);
        document.body.removeChild(element);
        await flush();
        expect(unsubscribe).toHaveBeenCalledTimes(1);
    });
});
