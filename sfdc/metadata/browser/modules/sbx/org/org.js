// The platform stand-ins' one way to the org: same-origin HTTP to the
// simulated org's REST, UI API and GraphQL endpoints (the demo server
// reverse-proxies /services/ and /cometd/ and adds the session, as the
// Lightning runtime does for components), and the record change
// notifications that keep getRecord wires current.

export const API_VERSION = '62.0';
const base = '/services/data/v' + API_VERSION;

// FetchResponse is the shape Lightning Data Service rejects with: status,
// statusText, ok and the server's error body (a UI API Error array, or an
// Error with Output for a failed save), which components read as
// error.body.message / error.body[0].message / error.body.output.fieldErrors.
function fetchResponse(status, statusText, body) {
    let shaped = body;
    if (Array.isArray(body) && body.length === 1) {
        shaped = body[0];
    }
    return { status, statusText, ok: false, headers: {}, body: shaped };
}

export async function request(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(base + path, init);
    } catch (e) {
        throw fetchResponse(0, 'Network Error', { errorCode: 'NETWORK_ERROR', message: String(e && e.message ? e.message : e) });
    }
    const text = await res.text();
    let json = null;
    if (text) {
        try {
            json = JSON.parse(text);
        } catch {
            json = { errorCode: 'UNKNOWN_EXCEPTION', message: text };
        }
    }
    if (!res.ok) {
        throw fetchResponse(res.status, res.statusText, json);
    }
    return json;
}

// Record change notifications: a write through the stand-ins (or
// notifyRecordUpdateAvailable) tells every wire that shows the record.
const listeners = new Map(); // recordId -> Set of callbacks

export function onRecordChange(recordId, cb) {
    const id = normalizeId(recordId);
    if (!listeners.has(id)) {
        listeners.set(id, new Set());
    }
    listeners.get(id).add(cb);
    return () => {
        const set = listeners.get(id);
        if (set) {
            set.delete(cb);
        }
    };
}

export function recordChanged(recordId) {
    const set = listeners.get(normalizeId(recordId));
    if (set) {
        [...set].forEach((cb) => cb());
    }
}

// Salesforce Ids compare by their first 15 characters.
export function normalizeId(id) {
    return typeof id === 'string' ? id.substring(0, 15) : id;
}

// fieldName turns a field reference — "Contact.Name" or an
// @salesforce/schema import {objectApiName, fieldApiName} — into the
// qualified name the UI API takes.
export function fieldName(f) {
    if (typeof f === 'string') {
        return f;
    }
    if (f && f.objectApiName && f.fieldApiName) {
        return f.objectApiName + '.' + f.fieldApiName;
    }
    throw new Error('not a field reference: ' + JSON.stringify(f));
}

export function objectName(o) {
    if (typeof o === 'string') {
        return o;
    }
    if (o && o.objectApiName) {
        return o.objectApiName;
    }
    throw new Error('not an object reference: ' + JSON.stringify(o));
}

// A small wire adapter base: LWC's wire adapter protocol is a class
// constructed with a data callback, then connect(), update(config) and
// disconnect() (lwc.dev, "Wire Adapters").
export class Adapter {
    constructor(dataCallback) {
        this.emit = dataCallback;
        this.config = undefined;
        this.connected = false;
        this.seq = 0;
    }
    connect() {
        this.connected = true;
        // Lightning Data Service's adapters provision an empty value at once,
        // so components may read wired.data before any answer (lwc-recipes
        // do: getFieldValue(this.contact.data, …)).
        if (!this.provisioned) {
            this.provisioned = true;
            this.emit(this.empty());
        }
        if (this.config) {
            this.refresh();
        }
    }
    disconnect() {
        this.connected = false;
        this.seq++;
        this.stop();
    }
    update(config) {
        this.config = config;
        if (this.connected) {
            this.refresh();
        }
    }
    // refresh runs load() and emits its result, dropping answers that a
    // later config or a disconnect has overtaken.
    refresh() {
        const seq = ++this.seq;
        return this.load(this.config).then(
            (value) => {
                if (seq === this.seq && this.connected) {
                    this.provisioned = true;
                    this.emit(value);
                }
                return value;
            },
            (error) => {
                if (seq === this.seq && this.connected) {
                    this.emit(this.failed(error));
                }
            }
        );
    }
    empty() {
        return { data: undefined, error: undefined };
    }
    failed(error) {
        return { data: undefined, error };
    }
    stop() {}
}
