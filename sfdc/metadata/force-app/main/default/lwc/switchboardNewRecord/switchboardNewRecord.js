/*
 * Contract — a new Contact or Lead for a customer's number.
 *
 * @api objectApiName  'Contact' or 'Lead'
 * @api recipient      the number, E.164; written into the phone field the
 *                     agent picks (the object's Phone fields, MobilePhone
 *                     first when there is one)
 *
 * Event `record`: detail { recordId, objectApiName, phoneField, name } once
 * the record is saved; the parent binds the conversation to it. Saving again
 * after the parent could not bind re-sends the same record, never a second
 * one. Event `cancel`. A refusal shows Salesforce's reason and keeps the form.
 */
import { LightningElement, api, wire } from 'lwc';
import { createRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import FIRST_NAME from '@salesforce/label/c.SB_Inbox_First_Name';
import LAST_NAME from '@salesforce/label/c.SB_Inbox_Last_Name';
import COMPANY from '@salesforce/label/c.SB_Inbox_Company';
import PHONE_FIELD from '@salesforce/label/c.SB_Inbox_Phone_Field';
import NEW_TITLE from '@salesforce/label/c.SB_Inbox_New_Title';
import SAVE from '@salesforce/label/c.SB_Inbox_Save';
import CANCEL from '@salesforce/label/c.SB_Inbox_Cancel';
import CREATE_FAILED from '@salesforce/label/c.SB_Inbox_Create_Failed';
import { errorToast, format, phoneFieldOptions } from 'c/switchboardUtils';


// Company is required on Lead (standard field, required by the platform);
// LastName on both.
const NEEDS_COMPANY = ['Lead'];

export default class SwitchboardNewRecord extends LightningElement {
    @api objectApiName;
    @api recipient;

    labels = { firstName: FIRST_NAME, lastName: LAST_NAME, company: COMPANY, phoneField: PHONE_FIELD, save: SAVE, cancel: CANCEL };
    objectInfo;
    errors;
    pickedPhoneField;
    saving = false;
    created;

    @wire(getObjectInfo, { objectApiName: '$objectApiName' })
    wiredObjectInfo({ data, error }) {
        this.errors = error ? [error] : undefined;
        if (data) this.objectInfo = data;
    }

    get title() {
        return format(NEW_TITLE, this.objectInfo ? this.objectInfo.label : this.objectApiName, this.recipient);
    }

    get needsCompany() {
        return NEEDS_COMPANY.includes(this.objectApiName);
    }

    get phoneOptions() {
        return phoneFieldOptions(this.objectInfo);
    }

    get phoneField() {
        const values = this.phoneOptions.map((o) => o.value);
        if (this.pickedPhoneField && values.includes(this.pickedPhoneField)) return this.pickedPhoneField;
        return values.includes('MobilePhone') ? 'MobilePhone' : values[0];
    }

    get saveDisabled() {
        return this.saving || !this.objectInfo || !this.phoneField;
    }

    handlePhoneField(event) {
        this.pickedPhoneField = event.detail.value;
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }

    async handleSave() {
        if (this.saveDisabled) return;
        const inputs = [...this.template.querySelectorAll('lightning-input')];
        const text = (input) => (input && input.value ? String(input.value).trim() : '');
        const value = (name) => text(inputs.find((i) => i.dataset.field === name));
        // Each input shows its own "complete this field"; whether to save is
        // decided on the trimmed values (a name of spaces is no name).
        inputs.forEach((input) => input.reportValidity());
        if (inputs.some((input) => input.required && !text(input))) return;
        const phoneField = this.phoneField;
        const name = [value('FirstName'), value('LastName')].filter(Boolean).join(' ');
        if (!this.created) {
            const fields = { LastName: value('LastName'), [phoneField]: this.recipient };
            if (value('FirstName')) fields.FirstName = value('FirstName');
            if (this.needsCompany) fields.Company = value('Company');
            this.saving = true;
            try {
                const record = await createRecord({ apiName: this.objectApiName, fields });
                this.created = { recordId: record.id, objectApiName: this.objectApiName, phoneField, name };
            } catch (error) {
                this.dispatchEvent(errorToast(CREATE_FAILED, error));
                return;
            } finally {
                this.saving = false;
            }
        }
        this.dispatchEvent(new CustomEvent('record', { detail: { ...this.created } }));
    }
}
