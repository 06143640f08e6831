// lightning/uiRecordApi backed by the simulated org's UI API
// (GET/POST/PATCH/DELETE /ui-api/records). Same exports and shapes as the
// platform module the components import.
import { Adapter, request, fieldName, objectName, onRecordChange, recordChanged } from 'sbx/org';

function list(v) {
    if (v === undefined || v === null) {
        return [];
    }
    return (Array.isArray(v) ? v : [v]).map(fieldName);
}

class GetRecordAdapter extends Adapter {
    load(config) {
        this.stop();
        if (!config || !config.recordId) {
            return new Promise(() => {}); // no record yet: nothing to show
        }
        const fields = list(config.fields);
        const optional = list(config.optionalFields);
        const q = new URLSearchParams();
        if (fields.length) {
            q.set('fields', fields.join(','));
        }
        if (optional.length) {
            q.set('optionalFields', optional.join(','));
        }
        if (config.layoutTypes) {
            q.set('layoutTypes', [].concat(config.layoutTypes).join(','));
        }
        this.unlisten = onRecordChange(config.recordId, () => this.refresh());
        return request('GET', '/ui-api/records/' + encodeURIComponent(config.recordId) + '?' + q.toString()).then((data) => ({
            data,
            error: undefined
        }));
    }
    stop() {
        if (this.unlisten) {
            this.unlisten();
            this.unlisten = undefined;
        }
    }
}

export function getRecord() {
    throw new Error('getRecord is a wire adapter: use @wire(getRecord, {...})');
}
getRecord.adapter = GetRecordAdapter;

export async function createRecord(recordInput) {
    const rec = await request('POST', '/ui-api/records', { apiName: objectName(recordInput.apiName), fields: recordInput.fields || {} });
    recordChanged(rec.id);
    return rec;
}

export async function updateRecord(recordInput) {
    const fields = { ...(recordInput.fields || {}) };
    const id = fields.Id;
    if (!id) {
        throw new Error('updateRecord: recordInput.fields.Id is required');
    }
    delete fields.Id;
    const body = { fields };
    if (recordInput.apiName) {
        body.apiName = objectName(recordInput.apiName);
    }
    const rec = await request('PATCH', '/ui-api/records/' + encodeURIComponent(id), body);
    recordChanged(id);
    return rec;
}

export async function deleteRecord(recordId) {
    await request('DELETE', '/ui-api/records/' + encodeURIComponent(recordId));
    recordChanged(recordId);
}

export async function notifyRecordUpdateAvailable(recordIds) {
    (recordIds || []).forEach((r) => recordChanged(typeof r === 'string' ? r : r.recordId));
}

// getRecordNotifyChange is the older name of notifyRecordUpdateAvailable.
export function getRecordNotifyChange(recordIds) {
    return notifyRecordUpdateAvailable(recordIds);
}

// fieldValueObject follows "Object.Rel.Field" through nested records.
function fieldValueObject(record, field) {
    if (!record || !record.fields) {
        return undefined;
    }
    const parts = fieldName(field).split('.').slice(1);
    let rec = record;
    for (let i = 0; i < parts.length - 1; i++) {
        const fv = rec.fields && rec.fields[parts[i]];
        if (!fv || !fv.value) {
            return undefined;
        }
        rec = fv.value;
    }
    return rec.fields ? rec.fields[parts[parts.length - 1]] : undefined;
}

export function getFieldValue(record, field) {
    const fv = fieldValueObject(record, field);
    return fv === undefined ? undefined : fv.value;
}

export function getFieldDisplayValue(record, field) {
    const fv = fieldValueObject(record, field);
    return fv === undefined ? undefined : fv.displayValue;
}
