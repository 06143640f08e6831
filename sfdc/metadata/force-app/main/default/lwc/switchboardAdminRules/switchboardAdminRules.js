import badE164 from '@salesforce/label/c.SB_Admin_Error_E164';
import badMessagingServiceSid from '@salesforce/label/c.SB_Admin_Error_Messaging_Service_Sid';
import badAccountSid from '@salesforce/label/c.SB_Admin_Error_Account_Sid';
import needSender from '@salesforce/label/c.SB_Admin_Error_Sender_Required';
import badExternalName from '@salesforce/label/c.SB_Admin_Error_External_Channel_Name';
import required from '@salesforce/label/c.SB_Admin_Error_Required';
import badMaxLength from '@salesforce/label/c.SB_Admin_Error_Max_Length';
import unknownError from '@salesforce/label/c.SB_Admin_Error_Unknown';

// Each pattern is also a validation rule in objects/*/validationRules, so a
// write through the API meets the same rule as one through this tab. The
// formulas use REGEX(), which matches the whole value like these anchors.
export const E164 = /^\+[1-9]\d{1,14}$/;
export const MESSAGING_SERVICE_SID = /^MG[0-9a-f]{32}$/;
export const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;
export const EXTERNAL_CHANNEL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

// SPEC §1: what `switchboard setup` creates and the tab may not delete.
export const DEFAULT_EXTERNAL_CHANNELS = [
    { object: 'Contact', field: 'MobilePhone' },
    { object: 'Contact', field: 'Phone' },
    { object: 'Lead', field: 'MobilePhone' },
    { object: 'Lead', field: 'Phone' },
    { object: 'Account', field: 'Phone' }
];

// The objects offered for External Channels and Templates before any row
// names another one.
export const KNOWN_OBJECTS = ['Contact', 'Lead', 'Account'];

export function externalChannelName(object, field) {
    return `${object}_${field}`;
}

export function isDefaultExternalChannel(object, field) {
    return DEFAULT_EXTERNAL_CHANNELS.some((d) => d.object === object && d.field === field);
}

// The default External Channels no row covers yet.
export function missingDefaults(existing) {
    return DEFAULT_EXTERNAL_CHANNELS.filter(
        (d) => !existing.some((r) => r.Object_API_Name__c === d.object && r.Field_API_Name__c === d.field)
    );
}

export function format(label, ...args) {
    return args.reduce((text, arg, i) => text.replace(`{${i}}`, arg), label);
}

function blank(v) {
    return v === undefined || v === null || String(v).trim() === '';
}

// Each validate* returns { fieldApiName: message } for what is wrong; an
// empty object means the values may be saved.
export function validateChannelType(v) {
    const errors = {};
    if (blank(v.Name)) errors.Name = required;
    if (!blank(v.Account_Sid__c) && !ACCOUNT_SID.test(v.Account_Sid__c)) errors.Account_Sid__c = badAccountSid;
    if (!blank(v.Max_Message_Length__c)) {
        const n = Number(v.Max_Message_Length__c);
        if (!Number.isInteger(n) || n < 1 || n > 1600) errors.Max_Message_Length__c = badMaxLength;
    }
    return errors;
}

export function validateChannel(v) {
    const errors = {};
    if (blank(v.Name)) errors.Name = required;
    if (blank(v.Channel_Type__c)) errors.Channel_Type__c = required;
    if (!blank(v.Phone_Number__c) && !E164.test(v.Phone_Number__c)) errors.Phone_Number__c = badE164;
    if (!blank(v.Messaging_Service_Sid__c) && !MESSAGING_SERVICE_SID.test(v.Messaging_Service_Sid__c)) {
        errors.Messaging_Service_Sid__c = badMessagingServiceSid;
    }
    if (blank(v.Phone_Number__c) && blank(v.Messaging_Service_Sid__c)) errors.Phone_Number__c = needSender;
    return errors;
}

export function validateExternalChannel(v) {
    const errors = {};
    if (blank(v.Name)) errors.Name = required;
    else if (!EXTERNAL_CHANNEL_NAME.test(v.Name)) errors.Name = badExternalName;
    if (blank(v.Object_API_Name__c)) errors.Object_API_Name__c = required;
    if (blank(v.Field_API_Name__c)) errors.Field_API_Name__c = required;
    return errors;
}

export function validateTemplate(v) {
    const errors = {};
    if (blank(v.Name)) errors.Name = required;
    if (blank(v.SObject_API_Name__c)) errors.SObject_API_Name__c = required;
    if (blank(v.Message_Text__c)) errors.Message_Text__c = required;
    return errors;
}

export function validateTranslation(v) {
    const errors = {};
    if (blank(v.Language__c)) errors.Language__c = required;
    if (blank(v.Text_Body__c)) errors.Text_Body__c = required;
    return errors;
}

// SPEC §1a: a row is stale once three heartbeat intervals have passed
// without an upsert.
export function isStale(lastHeartbeat, intervalSeconds, now) {
    const at = Date.parse(lastHeartbeat);
    if (Number.isNaN(at) || !(intervalSeconds > 0)) return true;
    return now - at > 3 * intervalSeconds * 1000;
}

// Checks__c holds one self-check per line, starting with ✓ (passed) or ✗
// (failed, followed by the fix).
export function parseChecks(text) {
    return (text || '')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '')
        .map((line) => ({ ok: !line.startsWith('✗'), text: line.replace(/^[✓✗]\s*/, '') }));
}

// GraphQL UI API returns each field as { value }; rows() flattens a
// connection's edges into plain objects.
export function rows(connection) {
    return ((connection && connection.edges) || []).map(({ node }) => {
        const row = {};
        Object.keys(node).forEach((key) => {
            const v = node[key];
            row[key] = v !== null && typeof v === 'object' && 'value' in v ? v.value : v;
        });
        return row;
    });
}

// LDS errors come as { body: { message } }, { body: { output: { errors,
// fieldErrors } } } (validation rules, duplicates) or GraphQL's [{ message }].
export function errorMessage(error) {
    const list = Array.isArray(error) ? error : [error];
    const messages = [];
    list.forEach((e) => {
        if (!e) return;
        const body = e.body;
        if (body && body.output) {
            (body.output.errors || []).forEach((x) => messages.push(x.message));
            Object.values(body.output.fieldErrors || {}).forEach((fs) => fs.forEach((x) => messages.push(x.message)));
        }
        if (messages.length === 0 && body && body.message) messages.push(body.message);
        else if (messages.length === 0 && e.message) messages.push(e.message);
    });
    return messages.length ? [...new Set(messages)].join(' ') : unknownError;
}

// The record fields to write from a form's values: text trimmed, numbers as
// numbers, an emptied field as null so an update clears it; a create leaves
// empty fields out so the field's default applies (Max_Message_Length__c).
export function recordFields(values, { numbers = [], create = false } = {}) {
    const fields = {};
    Object.keys(values).forEach((name) => {
        let v = values[name];
        if (typeof v === 'string') v = v.trim();
        if (v === '' || v === undefined) v = null;
        if (v !== null && numbers.includes(name)) v = Number(v);
        if (create && v === null) return;
        fields[name] = v;
    });
    return fields;
}

// Field errors a validation rule or a required field raised on save, by
// field, so the form can show them where they belong.
export function fieldErrors(error) {
    const out = {};
    const fe = (error && error.body && error.body.output && error.body.output.fieldErrors) || {};
    Object.keys(fe).forEach((name) => {
        out[name] = fe[name].map((x) => x.message).join(' ');
    });
    return out;
}
