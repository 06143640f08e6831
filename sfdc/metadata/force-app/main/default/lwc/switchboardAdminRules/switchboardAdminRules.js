import badE164 from '@salesforce/label/c.SB_Admin_Error_E164';
import badMessagingServiceSid from '@salesforce/label/c.SB_Admin_Error_Messaging_Service_Sid';
import badAccountSid from '@salesforce/label/c.SB_Admin_Error_Account_Sid';
import needSender from '@salesforce/label/c.SB_Admin_Error_Sender_Required';
import badExternalName from '@salesforce/label/c.SB_Admin_Error_External_Channel_Name';
import required from '@salesforce/label/c.SB_Admin_Error_Required';
import badMaxLength from '@salesforce/label/c.SB_Admin_Error_Max_Length';
import unknownError from '@salesforce/label/c.SB_Admin_Error_Unknown';
import badLanguage from '@salesforce/label/c.SB_Admin_Error_Language';
import duplicateLanguage from '@salesforce/label/c.SB_Admin_Error_Duplicate_Language';
import badMergeField from '@salesforce/label/c.SB_Admin_Error_Merge_Syntax';
import unknownMergeField from '@salesforce/label/c.SB_Admin_Error_Merge_Unknown_Field';
import { errorMessages, format, MERGE_FIELD, nodes, objectInfosByName } from 'c/switchboardUtils';

// The admin components take these from here with the rest of their rules.
export { format, nodes, objectInfosByName };

// Each pattern is also a validation rule in objects/*/validationRules, so a
// write through the API meets the same rule as one through this tab. The
// formulas use REGEX(), which matches the whole value like these anchors.
export const E164 = /^\+[1-9]\d{1,14}$/;
export const MESSAGING_SERVICE_SID = /^MG[0-9a-f]{32}$/;
export const ACCOUNT_SID = /^AC[0-9a-f]{32}$/;
export const EXTERNAL_CHANNEL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
// Salesforce language codes: de, fr, pt_BR, zh_CN.
export const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?$/;

// Anything after "{!" that is not a MERGE_FIELD is sent as typed, so the tab
// refuses it before saving.

// Splits text into plain parts and merge fields. A merge field on the
// template's own object names its field's label when objectInfo knows it,
// or is marked unknown; lookups and other objects cannot be checked here.
export function mergeParts(text, objectInfo) {
    const body = text || '';
    const parts = [];
    let last = 0;
    for (const m of body.matchAll(MERGE_FIELD)) {
        if (m.index > last) parts.push({ text: body.slice(last, m.index) });
        const part = { text: m[0], merge: true };
        const names = m[2].slice(1).split('.');
        if (objectInfo && m[1].toLowerCase() === objectInfo.apiName.toLowerCase() && names.length === 1) {
            const field = Object.values(objectInfo.fields).find((f) => f.apiName.toLowerCase() === names[0].toLowerCase());
            if (field) part.label = field.label;
            else part.unknown = true;
        }
        parts.push(part);
        last = m.index + m[0].length;
    }
    if (last < body.length) parts.push({ text: body.slice(last) });
    return parts;
}

// The message for the first merge-field problem in text, or '' for none.
export function mergeProblem(text, objectInfo) {
    const rest = (text || '').replace(MERGE_FIELD, '');
    const i = rest.indexOf('{!');
    if (i >= 0) {
        const j = rest.indexOf('}', i);
        return format(badMergeField, rest.slice(i, j >= 0 ? j + 1 : i + 40));
    }
    const unknown = mergeParts(text, objectInfo).find((p) => p.unknown);
    return unknown ? format(unknownMergeField, unknown.text) : '';
}

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

// The objects an admin picks from: the ones switchboard knows plus any an
// existing row already names, so nobody has to type an API name.
export function objectChoices(used) {
    return [...new Set([...KNOWN_OBJECTS, ...used.filter(Boolean)])];
}

export function objectOptions(infos) {
    return Object.values(infos)
        .map((info) => ({ label: `${info.label} (${info.apiName})`, value: info.apiName }))
        .sort((a, b) => a.label.localeCompare(b.label));
}

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

export function validateTemplate(v, objectInfo) {
    const errors = {};
    if (blank(v.Name)) errors.Name = required;
    if (blank(v.SObject_API_Name__c)) errors.SObject_API_Name__c = required;
    const mergeError = mergeProblem(v.Message_Text__c, objectInfo);
    if (blank(v.Message_Text__c)) errors.Message_Text__c = required;
    else if (mergeError) errors.Message_Text__c = mergeError;
    return errors;
}

// takenLanguages: the codes the template's other translations use.
export function validateTranslation(v, objectInfo, takenLanguages = []) {
    const errors = {};
    const language = blank(v.Language__c) ? '' : String(v.Language__c).trim();
    if (!language) errors.Language__c = required;
    else if (!LANGUAGE.test(language)) errors.Language__c = badLanguage;
    else if (takenLanguages.includes(language)) errors.Language__c = duplicateLanguage;
    const mergeError = mergeProblem(v.Text_Body__c, objectInfo);
    if (blank(v.Text_Body__c)) errors.Text_Body__c = required;
    else if (mergeError) errors.Text_Body__c = mergeError;
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

// The org's reasons in one line (see switchboardUtils' errorMessages for
// the shapes of LDS and GraphQL errors), or the admin's "try again".
export function errorMessage(error) {
    const messages = errorMessages(error);
    return messages.length ? messages.join(' ') : unknownError;
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
