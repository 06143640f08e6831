// Small rules the chat and administration components share, each in one place.
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import UNKNOWN_ERROR from '@salesforce/label/c.SB_Unknown_Error';

/** Fills {0}, {1}… in a Custom Label. */
export function format(label, ...args) {
    return String(label).replace(/\{(\d+)\}/g, (m, i) => (args[i] === undefined || args[i] === null ? '' : String(args[i])));
}

/**
 * A phone number as typed on a record ("(415) 555-0100") in E.164, or null.
 * Salesforce stores phone fields as typed (SPEC §1, External_Channel__c);
 * the sidecar normalises with libphonenumber and its default region. Here a
 * number without a country code is read as North American (10 digits, or 11
 * starting with 1); anything else needs its "+": the sidecar sends to what
 * the conversation holds, so a guess would send to the wrong number.
 */
export function toE164(raw) {
    if (!raw) return null;
    const s = String(raw).trim().replace(/^tel:/i, '');
    const digits = s.replace(/\D/g, '');
    if (s.startsWith('+') || s.startsWith('00')) {
        const d = s.startsWith('00') ? digits.slice(2) : digits;
        return /^[1-9]\d{6,14}$/.test(d) ? `+${d}` : null;
    }
    if (/^[2-9]\d{2}[2-9]\d{6}$/.test(digits)) return `+1${digits}`;
    if (/^1[2-9]\d{2}[2-9]\d{6}$/.test(digits)) return `+${digits}`;
    return null;
}

const WHATSAPP_PREFIX = 'whatsapp:';

/**
 * One merge field in the sidecar's grammar (sync/merge.go, mergeFieldRE):
 * API names only, {!Object.Field} or through lookups {!Contact.Account.Name},
 * spaces allowed inside the braces. Groups: the object, then the path with
 * its leading dot (".Account.Name"). Global: use it with matchAll or
 * replace, which do not keep its lastIndex.
 */
export const MERGE_FIELD = /\{!\s*([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z][A-Za-z0-9_]*)+)\s*\}/g;

/**
 * A conversation's customer number in E.164, or null. The sidecar keys
 * WhatsApp conversations with "whatsapp:" (twilio ref §10.1); the record's
 * number is the same customer.
 */
export function recipientE164(conversation) {
    const raw = (conversation && conversation.Message_Recipient__c) || '';
    return toE164(raw.toLowerCase().startsWith(WHATSAPP_PREFIX) ? raw.slice(WHATSAPP_PREFIX.length) : raw);
}

/** The readable messages of an LDS, GraphQL or JavaScript error (or a list of them). */
export function reduceErrors(errors) {
    const messages = errorMessages(errors);
    return messages.length ? messages : [UNKNOWN_ERROR];
}

/** The toast that says what failed (`title`) and Salesforce's reasons. */
export function errorToast(title, error) {
    return new ShowToastEvent({ title, message: reduceErrors(error).join(' '), variant: 'error' });
}

/** reduceErrors without its fallback: [] when the errors carry no message. */
export function errorMessages(errors) {
    const list = Array.isArray(errors) ? errors : [errors];
    const messages = [];
    for (const e of list) {
        if (!e) continue;
        if (typeof e === 'string') {
            messages.push(e);
        } else if (e.body && Array.isArray(e.body)) {
            e.body.forEach((b) => b && b.message && messages.push(b.message));
        } else if (e.body && e.body.output) {
            // updateRecord/createRecord: field and record errors (UI API).
            const out = e.body.output;
            (out.errors || []).forEach((x) => x.message && messages.push(x.message));
            Object.values(out.fieldErrors || {}).forEach((fieldErrors) =>
                fieldErrors.forEach((x) => x.message && messages.push(x.message))
            );
            if (!(out.errors || []).length && !Object.keys(out.fieldErrors || {}).length && e.body.message) {
                messages.push(e.body.message);
            }
        } else if (e.body && e.body.message) {
            messages.push(e.body.message);
        } else if (e.message) {
            messages.push(e.message);
        }
    }
    return [...new Set(messages)];
}

/** Reads a wire again: `result` is what the wire last delivered (undefined before its first answer). */
export function refreshWire(result) {
    return result && typeof result.refresh === 'function' ? result.refresh() : undefined;
}

/**
 * A GraphQL connection's nodes, with each `{ value }` field flattened, in
 * parent records too (Channel__r.Name); a child connection stays one
 * (nodes(t.Translations__r)).
 */
export function nodes(connection) {
    return ((connection && connection.edges) || []).map((edge) => flatten(edge.node));
}

function flatten(node) {
    const out = {};
    for (const [key, v] of Object.entries(node || {})) {
        if (v && typeof v === 'object' && 'value' in v) {
            out[key] = v.value;
            if ('displayValue' in v) out[`${key}Display`] = v.displayValue;
        } else if (Array.isArray(v)) {
            out[key] = v.map((x) => (x && typeof x === 'object' ? flatten(x) : x));
        } else if (v && typeof v === 'object') {
            out[key] = flatten(v);
        } else {
            out[key] = v;
        }
    }
    return out;
}

/**
 * getObjectInfos data as { apiName: objectInfo }. It answers per object; an
 * object the user may not read comes back with its own error status and is
 * left out.
 */
export function objectInfosByName(data) {
    const infos = {};
    for (const r of (data && data.results) || []) {
        if (r.statusCode === 200 && r.result) infos[r.result.apiName] = r.result;
    }
    return infos;
}

/**
 * The phone fields of an object (getObjectInfo data) the user may write, as
 * combobox options by label: where a customer's number can go.
 */
export function phoneFieldOptions(objectInfo) {
    if (!objectInfo) return [];
    return Object.values(objectInfo.fields)
        .filter((f) => f.dataType === 'Phone' && f.updateable)
        .map((f) => ({ label: f.label, value: f.apiName }))
        .sort((a, b) => a.label.localeCompare(b.label));
}
