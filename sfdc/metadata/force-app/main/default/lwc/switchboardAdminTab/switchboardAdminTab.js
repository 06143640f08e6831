// What every part of the Administration tab does with its query and its
// form and its rows, in one place. The functions work on the component (`host`) that
// calls them, through these fields and methods:
//   refreshResult   the GraphQL wire's refresh function
//   loadError       the query's errors as text, shown above the table
//   form            the open form ({ heading, fields, values, errors, … })
//   saving          true while a save is under way (the form's Save is off)
//   toast(variant, message)
import { deleteRecord } from 'lightning/uiRecordApi';
import LightningConfirm from 'lightning/confirm';
import SAVED from '@salesforce/label/c.SB_Admin_Saved';
import NOT_SAVED from '@salesforce/label/c.SB_Admin_Not_Saved';
import DELETE from '@salesforce/label/c.SB_Admin_Delete';
import DELETED from '@salesforce/label/c.SB_Admin_Deleted';
import { errorMessage, fieldErrors, format } from 'c/switchboardAdminRules';

/**
 * Reads a GraphQL wire result: keeps its refresh, shows its errors as
 * host.loadError and returns `data.uiapi.query` once there is data
 * (undefined while loading and on errors).
 */
export function readQuery(host, result) {
    host.refreshResult = result.refresh;
    if (result.errors) {
        host.loadError = errorMessage(result.errors);
        return undefined;
    }
    if (!result.data) return undefined;
    host.loadError = undefined;
    return result.data.uiapi.query;
}

/** Reads the query again (after a write); resolves at once before its first result. */
export function refreshQuery(host) {
    return host.refreshResult ? host.refreshResult() : Promise.resolve();
}

/** The named entries of a form's values, in the order of `names`. */
export function pickValues(values, names) {
    const picked = {};
    names.forEach((name) => {
        picked[name] = values[name];
    });
    return picked;
}

/**
 * The Save of a form. With `errors` (the tab's own rules on `values`) it
 * shows them on the form and writes nothing. Otherwise it runs `write`,
 * says "`savedName` saved", closes the form and runs `afterSave` (a refresh
 * of what the tab shows); a refusal keeps the form open with Salesforce's
 * reasons next to their fields.
 */
export async function saveForm(host, { values, errors, write, savedName, afterSave }) {
    if (Object.keys(errors).length) {
        host.form = { ...host.form, values, errors };
        host.toast('error', NOT_SAVED);
        return;
    }
    host.saving = true;
    try {
        await write();
        host.toast('success', format(SAVED, savedName));
        host.form = undefined;
        await afterSave();
    } catch (error) {
        host.form = { ...host.form, values, errors: fieldErrors(error) };
        host.toast('error', errorMessage(error));
    } finally {
        host.saving = false;
    }
}

/**
 * A write from a row's action (activate, delete): says `doneMessage` and
 * runs `afterWrite` (a refresh), or says why Salesforce refused.
 */
export async function writeRow(host, { write, doneMessage, afterWrite }) {
    try {
        await write();
        host.toast('success', doneMessage);
        await afterWrite();
    } catch (error) {
        host.toast('error', errorMessage(error));
    }
}

/** Deletes a record once the admin confirms `confirmMessage`; "`name` deleted", then `afterDelete`. */
export async function confirmAndDelete(host, { recordId, name, confirmMessage, afterDelete }) {
    const ok = await LightningConfirm.open({ message: confirmMessage, variant: 'header', label: DELETE, theme: 'warning' });
    if (!ok) return;
    await writeRow(host, { write: () => deleteRecord(recordId), doneMessage: format(DELETED, name), afterWrite: afterDelete });
}
