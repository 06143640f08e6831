// lightning/empApi: a small CometD (Bayeux 1.0) long-polling client on the
// simulated org's /cometd/<version> endpoint, with the Salesforce replay
// extension. One shared session per page, as on the platform: every
// subscribe goes through it, and a server asking for a new handshake
// (advice.reconnect = "handshake") gets one followed by every subscription
// again — a re-handshake drops the old subscriptions (Streaming API
// Developer Guide, "Clients and Timeouts").
import { API_VERSION } from 'sbx/org';

const endpoint = '/cometd/' + API_VERSION;
const errorCallbacks = new Set();
let debug = false;
let session; // Promise of the clientId
let clientId;
let polling = false;
let nextId = 1;
const subs = new Map(); // subscription string -> {channel, replayId, callbacks:Set}

function log(...args) {
    if (debug) {
        console.log('[empApi]', ...args);
    }
}

function reportError(e) {
    log('error', e);
    errorCallbacks.forEach((cb) => cb(e));
}

async function post(messages) {
    const res = await fetch(endpoint, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(messages.map((m) => ({ ...m, id: String(nextId++) })))
    });
    if (!res.ok) {
        throw new Error('CometD ' + res.status + ' ' + res.statusText);
    }
    return res.json();
}

function topicOf(subscription) {
    return subscription.split('?')[0];
}

function replayMap() {
    const m = {};
    subs.forEach((s, key) => {
        m[topicOf(key)] = s.replayId;
    });
    return m;
}

async function handshake() {
    const [reply] = await post([
        { channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0', supportedConnectionTypes: ['long-polling'], ext: { replay: true } }
    ]);
    if (!reply || !reply.successful) {
        throw new Error('handshake failed: ' + (reply && reply.error));
    }
    clientId = reply.clientId;
    log('handshake', clientId);
    return clientId;
}

function ensureSession() {
    if (!session) {
        session = handshake().then((id) => {
            poll();
            return id;
        });
        session.catch((e) => {
            session = undefined;
            reportError(e);
        });
    }
    return session;
}

async function sendSubscribe(key) {
    const s = subs.get(key);
    const [reply] = await post([{ channel: '/meta/subscribe', clientId, subscription: key, ext: { replay: { [topicOf(key)]: s.replayId } } }]);
    if (!reply || !reply.successful) {
        throw new Error((reply && reply.error) || 'subscribe failed');
    }
    log('subscribed', key);
}

function deliver(msg) {
    subs.forEach((s, key) => {
        if (topicOf(key) !== msg.channel) {
            return;
        }
        const rid = msg.data && msg.data.event && msg.data.event.replayId;
        if (typeof rid === 'number' && rid > s.replayId) {
            s.replayId = rid; // resume after this event on a re-subscribe
        }
        s.callbacks.forEach((cb) => cb(msg));
    });
}

async function poll() {
    if (polling) {
        return;
    }
    polling = true;
    let backoff = 250;
    while (subs.size > 0 || clientId) {
        try {
            // eslint-disable-next-line no-await-in-loop
            const replies = await post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling' }]);
            backoff = 250;
            let rehandshake = false;
            replies.forEach((m) => {
                if (m.channel === '/meta/connect') {
                    if (!m.successful) {
                        rehandshake = m.advice && m.advice.reconnect === 'handshake';
                        reportError(m);
                    }
                } else if (m.data) {
                    deliver(m);
                }
            });
            if (rehandshake) {
                // eslint-disable-next-line no-await-in-loop
                await handshake();
                // eslint-disable-next-line no-await-in-loop
                await Promise.all([...subs.keys()].map(sendSubscribe));
            }
        } catch (e) {
            reportError(e);
            const wait = backoff;
            backoff = Math.min(backoff * 2, 10000);
            // eslint-disable-next-line no-await-in-loop, @lwc/lwc/no-async-operation
            await new Promise((r) => setTimeout(r, wait));
        }
        if (!clientId) {
            break;
        }
    }
    polling = false;
}

export async function subscribe(channel, replayId, onMessageCallback) {
    await ensureSession();
    const existing = subs.get(channel);
    if (existing) {
        existing.callbacks.add(onMessageCallback);
    } else {
        subs.set(channel, { replayId: typeof replayId === 'number' ? replayId : -1, callbacks: new Set([onMessageCallback]) });
        try {
            await sendSubscribe(channel);
        } catch (e) {
            subs.delete(channel);
            reportError(e);
            throw e;
        }
    }
    return { id: channel, channel, replayId, callback: onMessageCallback };
}

export async function unsubscribe(subscription, callback) {
    const s = subs.get(subscription && subscription.channel);
    if (s) {
        s.callbacks.delete(subscription.callback);
        if (s.callbacks.size === 0) {
            subs.delete(subscription.channel);
            await post([{ channel: '/meta/unsubscribe', clientId, subscription: subscription.channel }]).catch(reportError);
        }
    }
    const result = { successful: true, subscription: subscription && subscription.channel };
    if (callback) {
        callback(result);
    }
    return result;
}

export function onError(callback) {
    errorCallbacks.add(callback);
}

export function isEmpEnabled() {
    return Promise.resolve(true);
}

export function setDebugFlag(flag) {
    debug = !!flag;
    return Promise.resolve(debug);
}

// replayPosition is for tests and the demo: where each subscription resumes.
export function replayPosition() {
    return replayMap();
}
