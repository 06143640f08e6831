/*
 * Contract — pick an existing record for a customer's number.
 *
 * @api recipient         the number, E.164
 * @api externalChannels  External_Channel__c rows ({ Object_API_Name__c,
 *                        Field_API_Name__c }): their objects join Account,
 *                        Contact and Lead in the object choice
 *
 * The agent picks the object, finds the record with lightning-record-picker
 * and may write the number into one of its phone fields (updateRecord on that
 * record, before anything is bound, so a refusal binds nothing).
 * Event `record`: detail { recordId, objectApiName, phoneField, name }
 * (phoneField only when the number was written there; name is the object's
 * label); the parent binds the conversation. Event `cancel`.
 */
import { LightningElement, api, wire } from 'lwc';
import { updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';
import BIND_TITLE from '@salesforce/label/c.SB_Inbox_Bind_Title';
import OBJECT_LABEL from '@salesforce/label/c.SB_Inbox_Object';
import RECORD_LABEL from '@salesforce/label/c.SB_Inbox_Record';
import PHONE_FIELD from '@salesforce/label/c.SB_Inbox_Write_Number';
import NO_WRITE from '@salesforce/label/c.SB_Inbox_Do_Not_Write';
import BIND from '@salesforce/label/c.SB_Inbox_Bind_Save';
import CANCEL from '@salesforce/label/c.SB_Inbox_Cancel';
import WRITE_FAILED from '@salesforce/label/c.SB_Inbox_Write_Failed';
import { errorToast, format, objectInfosByName, phoneFieldOptions } from 'c/switchboardUtils';

// The objects whose records carry customer numbers by default (SPEC §1,
// External_Channel__c defaults).
const DEFAULT_OBJECTS = ['Account', 'Contact', 'Lead'];

export default class SwitchboardRecordBinder extends LightningElement {
    @api recipient;
    @api externalChannels = [];

    labels = { object: OBJECT_LABEL, record: RECORD_LABEL, phoneField: PHONE_FIELD, bind: BIND, cancel: CANCEL };
    objectInfos = {};
    errors;
    pickedObject;
    recordId;
    phoneField = '';
    saving = false;

    get objectApiNames() {
        const names = [...DEFAULT_OBJECTS];
        for (const ec of this.externalChannels || []) {
            if (ec.Object_API_Name__c && !names.includes(ec.Object_API_Name__c)) names.push(ec.Object_API_Name__c);
        }
        return names;
    }

    @wire(getObjectInfos, { objectApiNames: '$objectApiNames' })
    wiredObjectInfos({ data, error }) {
        this.errors = error ? [error] : undefined;
        if (data) this.objectInfos = objectInfosByName(data);
    }

    get title() {
        return format(BIND_TITLE, this.recipient);
    }

    get objectOptions() {
        return this.objectApiNames
            .filter((name) => this.objectInfos[name])
            .map((name) => ({ label: this.objectInfos[name].label, value: name }));
    }

    get objectApiName() {
        const values = this.objectOptions.map((o) => o.value);
        if (this.pickedObject && values.includes(this.pickedObject)) return this.pickedObject;
        return values.includes('Contact') ? 'Contact' : values[0];
    }

    get phoneOptions() {
        return [{ label: NO_WRITE, value: '' }, ...phoneFieldOptions(this.objectInfos[this.objectApiName])];
    }

    get bindDisabled() {
        return this.saving || !this.recordId;
    }

    handleObject(event) {
        this.pickedObject = event.detail.value;
        this.recordId = undefined;
        this.phoneField = '';
    }

    handleRecord(event) {
        this.recordId = event.detail.recordId || undefined;
    }

    handlePhoneField(event) {
        this.phoneField = event.detail.value;
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }

    async handleBind() {
        if (this.bindDisabled) return;
        const { recordId, objectApiName, phoneField } = this;
        if (phoneField) {
            this.saving = true;
            try {
                await updateRecord({ fields: { Id: recordId, [phoneField]: this.recipient } });
            } catch (error) {
                this.dispatchEvent(errorToast(WRITE_FAILED, error));
                return;
            } finally {
                this.saving = false;
            }
        }
        const detail = { recordId, objectApiName, name: this.objectInfos[objectApiName].label };
        if (phoneField) detail.phoneField = phoneField;
        this.dispatchEvent(new CustomEvent('record', { detail }));
    }
}
