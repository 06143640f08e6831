// lightning/uiObjectInfoApi backed by the simulated org's UI API
// (/ui-api/object-info/…). Object info and picklist values do not change
// while a page is open, so each is fetched once per page.
import { Adapter, request, fieldName, objectName } from 'sbx/org';

const cache = new Map();

function cached(path) {
    if (!cache.has(path)) {
        const p = request('GET', path);
        p.catch(() => cache.delete(path)); // a failure is not remembered
        cache.set(path, p);
    }
    return cache.get(path);
}

const never = () => new Promise(() => {});

class ObjectInfoAdapter extends Adapter {
    load(config) {
        if (!config || !config.objectApiName) {
            return never();
        }
        return cached('/ui-api/object-info/' + encodeURIComponent(objectName(config.objectApiName))).then((data) => ({ data, error: undefined }));
    }
}

class ObjectInfosAdapter extends Adapter {
    load(config) {
        if (!config || !config.objectApiNames) {
            return never();
        }
        // Batch shape: {results: [{statusCode, result}]}, one per object.
        return Promise.all(
            config.objectApiNames.map((o) =>
                cached('/ui-api/object-info/' + encodeURIComponent(objectName(o))).then(
                    (result) => ({ statusCode: 200, result }),
                    (e) => ({ statusCode: e.status, result: e.body })
                )
            )
        ).then((results) => ({ data: { results }, error: undefined }));
    }
}

class PicklistValuesAdapter extends Adapter {
    load(config) {
        if (!config || !config.recordTypeId || !config.fieldApiName) {
            return never();
        }
        const [obj, field] = fieldName(config.fieldApiName).split('.');
        return cached('/ui-api/object-info/' + encodeURIComponent(obj) + '/picklist-values/' + config.recordTypeId + '/' + encodeURIComponent(field)).then(
            (data) => ({ data, error: undefined })
        );
    }
}

class PicklistValuesByRecordTypeAdapter extends Adapter {
    load(config) {
        if (!config || !config.recordTypeId || !config.objectApiName) {
            return never();
        }
        return cached('/ui-api/object-info/' + encodeURIComponent(objectName(config.objectApiName)) + '/picklist-values/' + config.recordTypeId).then(
            (data) => ({ data, error: undefined })
        );
    }
}

function adapterOnly(name, cls) {
    const f = () => {
        throw new Error(name + ' is a wire adapter: use @wire(' + name + ', {...})');
    };
    f.adapter = cls;
    return f;
}

export const getObjectInfo = adapterOnly('getObjectInfo', ObjectInfoAdapter);
export const getObjectInfos = adapterOnly('getObjectInfos', ObjectInfosAdapter);
export const getPicklistValues = adapterOnly('getPicklistValues', PicklistValuesAdapter);
export const getPicklistValuesByRecordType = adapterOnly('getPicklistValuesByRecordType', PicklistValuesByRecordTypeAdapter);
