import { subscribe, unsubscribe, isEmpEnabled, onError } from 'lightning/empApi';
import { register, settled, channelFor, REFRESH_INTERVAL_MS } from 'c/switchboardChatSubscription';

const taskUpdated = require('./data/taskUpdated.json');

const CONV_A = 'a03aK000001Jm2aQAC';
const CONV_B = 'a03aK000001Jm2bQAC';

// Every subscribe resolves with the object empApi hands back, which
// unsubscribe later receives.
let handlers;
beforeEach(() => {
    handlers = new Map();
    isEmpEnabled.mockResolvedValue(true);
    subscribe.mockImplementation((channel, replayId, cb) => {
        handlers.set(channel, cb);
        return Promise.resolve({ id: `sub:${channel}`, channel, replayId });
    });
    unsubscribe.mockResolvedValue({ success: true });
});

afterEach(() => {
    // onError's calls are kept: the module sets its handler once per session.
    [subscribe, unsubscribe, isEmpEnabled].forEach((m) => m.mockClear());
    jest.useRealTimers();
});

describe('c-switchboard-chat-subscription', () => {
    it('builds an OR filter of sorted, distinct 18-character Ids and rejects others', () => {
        expect(channelFor([CONV_B, CONV_A, CONV_B])).toBe(
            `/topic/SwitchboardChat?Conversation__c='${CONV_A}'&Conversation__c='${CONV_B}'`
        );
        // 15-character Ids are not supported in filters; nothing valid → no channel.
        expect(channelFor(['a03aK000001Jm2a', '', undefined])).toBeNull();
        expect(channelFor([])).toBeNull();
    });

    it('holds one filtered subscription for the union and resubscribes when it changes', async () => {
        const a = jest.fn();
        const b = jest.fn();
        const offA = register([CONV_A], a);
        await settled();
        expect(subscribe).toHaveBeenCalledTimes(1);
        expect(subscribe).toHaveBeenLastCalledWith(
            `/topic/SwitchboardChat?Conversation__c='${CONV_A}'`,
            -1,
            expect.any(Function)
        );

        const offB = register([CONV_B, CONV_A], b);
        await settled();
        expect(unsubscribe).toHaveBeenCalledTimes(1);
        expect(unsubscribe.mock.calls[0][0].channel).toBe(`/topic/SwitchboardChat?Conversation__c='${CONV_A}'`);
        expect(subscribe).toHaveBeenCalledTimes(2);
        const both = `/topic/SwitchboardChat?Conversation__c='${CONV_A}'&Conversation__c='${CONV_B}'`;
        expect(subscribe.mock.calls[1][0]).toBe(both);

        // An update on conversation A reaches both registrations; B only b.
        handlers.get(both)(taskUpdated);
        const update = {
            id: '00TaK00000DxQ1vUAF',
            conversationId: CONV_A,
            type: 'Outbound',
            status: 'Delivered',
            eventType: 'updated'
        };
        expect(a).toHaveBeenCalledWith(update);
        expect(b).toHaveBeenCalledWith(update);
        handlers.get(both)({ data: { ...taskUpdated.data, sobject: { ...taskUpdated.data.sobject, Conversation__c: CONV_B } } });
        expect(a).toHaveBeenCalledTimes(1);
        expect(b).toHaveBeenCalledTimes(2);

        // Same union again: no resubscription.
        offB();
        await settled();
        expect(subscribe).toHaveBeenCalledTimes(3);
        expect(subscribe.mock.calls[2][0]).toBe(`/topic/SwitchboardChat?Conversation__c='${CONV_A}'`);
        const offA2 = register([CONV_A], jest.fn());
        await settled();
        expect(subscribe).toHaveBeenCalledTimes(3);

        offA();
        offA2();
        await settled();
        // Nothing on screen: unsubscribed, nothing new.
        expect(subscribe).toHaveBeenCalledTimes(3);
        expect(unsubscribe).toHaveBeenCalledTimes(3);
    });

    it('refreshes every 30 s when empApi is not enabled', async () => {
        jest.useFakeTimers();
        isEmpEnabled.mockResolvedValue(false);
        const cb = jest.fn();
        const off = register([CONV_A], cb);
        await settled();
        expect(subscribe).not.toHaveBeenCalled();
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS - 1);
        expect(cb).not.toHaveBeenCalled();
        jest.advanceTimersByTime(1);
        expect(cb).toHaveBeenCalledWith(null);
        off();
        await settled();
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS * 3);
        expect(cb).toHaveBeenCalledTimes(1);
    });

    it('refreshes every 30 s when subscribe fails', async () => {
        jest.useFakeTimers();
        subscribe.mockRejectedValue(new Error('400::The channel you requested to subscribe to does not exist'));
        const cb = jest.fn();
        const off = register([CONV_A], cb);
        await settled();
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS);
        expect(cb).toHaveBeenCalledWith(null);
        off();
        await settled();
    });

    it('falls back to refreshing when streaming reports an error', async () => {
        jest.useFakeTimers();
        const cb = jest.fn();
        const off = register([CONV_B], cb);
        await settled();
        expect(subscribe).toHaveBeenCalledTimes(1);
        // The handler is set once per session, by the first subscription.
        expect(onError).toHaveBeenCalledTimes(1);
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS);
        expect(cb).not.toHaveBeenCalled();
        onError.mock.calls[0][0]({ error: '403::Organization total events daily limit exceeded' });
        jest.advanceTimersByTime(REFRESH_INTERVAL_MS);
        expect(cb).toHaveBeenCalledWith(null);
        off();
        await settled();
    });
});
