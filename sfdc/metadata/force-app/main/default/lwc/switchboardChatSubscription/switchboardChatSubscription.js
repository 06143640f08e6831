// The ONE subscription to /topic/SwitchboardChat (SPEC §2) for this browser
// session, shared by every chat and inbox on screen.
//
// Why one: lightning/empApi keeps one CometD session per browser, and every
// subscription to a PushTopic in that session must use the same filter
// (salesforce ref §3.8, "Filtered Subscriptions"). Why filtered: every
// notification delivered to every browser counts against the org's daily
// PushTopic allocation (200,000 a day in Enterprise Edition), shared with the
// sidecar, which stops receiving once it is spent; an unfiltered subscription
// would deliver every message of the org to every agent.
//
// register(conversationIds, callback) → unregister. The filter is the union of
// the registered Ids ("&" is OR between conditions), recomputed and
// resubscribed whenever that union changes. The callback gets
// { id, conversationId, type, status, eventType } for each notification about
// one of its conversations, or null every 30 s while empApi is not available
// (isEmpEnabled() false, subscribe failed, or a streaming error such as the
// daily allocation being spent), meaning "reload what you show".
import { subscribe, unsubscribe, onError, isEmpEnabled } from 'lightning/empApi';

export const TOPIC = '/topic/SwitchboardChat';
export const REFRESH_INTERVAL_MS = 30000;

// Filters need 18-character Ids; 15-character ones are not supported
// (salesforce ref §3.8).
const ID18 = /^[a-zA-Z0-9]{18}$/;

const registrations = new Map();
let nextToken = 1;
let subscription = null;
let channel = null;
let pollTimer = null;
let errorHandlerSet = false;
let work = Promise.resolve();

/**
 * The channel for a set of conversation Ids, or null when there is none.
 * An Id is a string value, and Salesforce's example quotes string values
 * ("/topic/MyTopic?Name='SomeName'", salesforce ref §3.8), so each is quoted.
 */
export function channelFor(conversationIds) {
    const ids = [...new Set((conversationIds || []).filter((id) => ID18.test(id || '')))].sort();
    if (ids.length === 0) return null;
    return `${TOPIC}?${ids.map((id) => `Conversation__c='${id}'`).join('&')}`;
}

export function register(conversationIds, callback) {
    const token = nextToken++;
    registrations.set(token, { ids: new Set(conversationIds || []), callback });
    schedule();
    return () => {
        if (registrations.delete(token)) schedule();
    };
}

/** Resolves once every resubscription asked for so far is done. */
export function settled() {
    return work;
}

function unionOfIds() {
    const ids = [];
    for (const r of registrations.values()) ids.push(...r.ids);
    return ids;
}

function schedule() {
    // Serialised, so an unsubscribe and the next subscribe never interleave.
    work = work.then(resubscribe).catch(() => startPolling());
    return work;
}

async function resubscribe() {
    const want = channelFor(unionOfIds());
    if (want === channel) return;
    await drop();
    channel = want;
    if (!want) return;
    let enabled = false;
    try {
        enabled = await isEmpEnabled();
    } catch {
        enabled = false;
    }
    if (!enabled) {
        startPolling();
        return;
    }
    if (!errorHandlerSet) {
        errorHandlerSet = true;
        // A streaming error (e.g. 403::Organization total events daily limit
        // exceeded, salesforce ref §3.8) means no more notifications: poll.
        onError(() => {
            subscription = null;
            startPolling();
        });
    }
    try {
        subscription = await subscribe(want, -1, deliver);
    } catch {
        subscription = null;
        startPolling();
    }
}

async function drop() {
    stopPolling();
    const old = subscription;
    subscription = null;
    channel = null;
    if (old) {
        try {
            await unsubscribe(old);
        } catch {
            // The session may already be gone; nothing to undo.
        }
    }
}

function deliver(message) {
    const data = (message && message.data) || {};
    const sobject = data.sobject || {};
    const update = {
        id: sobject.Id,
        conversationId: sobject.Conversation__c,
        type: sobject.Message_Type__c,
        status: sobject.Message_Status__c,
        eventType: data.event && data.event.type
    };
    for (const r of [...registrations.values()]) {
        if (r.ids.has(update.conversationId)) r.callback(update);
    }
}

function startPolling() {
    if (pollTimer) return;
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    pollTimer = setInterval(() => {
        for (const r of [...registrations.values()]) r.callback(null);
    }, REFRESH_INTERVAL_MS);
}

function stopPolling() {
    if (pollTimer) {
        clearInterval(pollTimer);
        pollTimer = null;
    }
}
