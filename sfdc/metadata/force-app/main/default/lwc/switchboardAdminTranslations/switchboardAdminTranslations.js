import { LightningElement, api } from 'lwc';
import { createRecord, updateRecord } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import { format, recordFields, validateTranslation } from 'c/switchboardAdminRules';
import { confirmAndDelete, pickValues, saveForm } from 'c/switchboardAdminTab';
import TRANSLATIONS_OF from '@salesforce/label/c.SB_Admin_Translations_Of';
import NEW_TRANSLATION from '@salesforce/label/c.SB_Admin_New_Translation';
import EDIT_TRANSLATION from '@salesforce/label/c.SB_Admin_Edit_Translation';
import NO_TRANSLATIONS from '@salesforce/label/c.SB_Admin_No_Translations';
import LANGUAGE from '@salesforce/label/c.SB_Admin_Field_Language';
import LANGUAGE_HELP from '@salesforce/label/c.SB_Admin_Help_Language';
import TEXT_BODY from '@salesforce/label/c.SB_Admin_Field_Text_Body';
import MERGE_HELP from '@salesforce/label/c.SB_Admin_Help_Merge_Fields';
import EDIT from '@salesforce/label/c.SB_Admin_Edit';
import DELETE from '@salesforce/label/c.SB_Admin_Delete';
import CONFIRM_DELETE from '@salesforce/label/c.SB_Admin_Confirm_Delete_Translation';
import TITLE from '@salesforce/label/c.SB_Admin_Templates';

const FIELDS = ['Language__c', 'Text_Body__c'];

// Writes a template's translations and fires `changed` so the parent
// refreshes its query; the list itself comes from the parent.
export default class SwitchboardAdminTranslations extends LightningElement {
    @api messageTemplate; // { Id, Name, SObject_API_Name__c, Message_Text__c, translations: [{ Id, Language__c, Text_Body__c }] }
    @api objectInfo;
    labels = { newTranslation: NEW_TRANSLATION, none: NO_TRANSLATIONS, edit: EDIT, delete: DELETE };
    form; // { recordId, heading, fields, values, errors }
    saving = false;

    get heading() {
        return format(TRANSLATIONS_OF, this.messageTemplate.Name);
    }

    get translations() {
        return (this.messageTemplate.translations || []).map((t) => ({
            ...t,
            editTitle: `${EDIT} ${t.Language__c}`,
            deleteTitle: `${DELETE} ${t.Language__c}`
        }));
    }

    get noTranslations() {
        return this.translations.length === 0;
    }

    fields(v) {
        return [
            { name: 'Language__c', label: LANGUAGE, value: v.Language__c, required: true, placeholder: 'de', help: LANGUAGE_HELP },
            { name: 'Text_Body__c', label: TEXT_BODY, type: 'textarea', value: v.Text_Body__c, required: true, help: MERGE_HELP }
        ];
    }

    // A new translation starts from the English text, merge fields and all.
    handleNew() {
        const values = { Language__c: '', Text_Body__c: this.messageTemplate.Message_Text__c };
        this.form = { heading: NEW_TRANSLATION, values, fields: this.fields(values), errors: {} };
    }

    handleEdit(event) {
        const t = this.messageTemplate.translations.find((x) => x.Id === event.target.dataset.id);
        const values = { Language__c: t.Language__c, Text_Body__c: t.Text_Body__c };
        this.form = { recordId: t.Id, heading: format(EDIT_TRANSLATION, t.Language__c), values, fields: this.fields(values), errors: {} };
    }

    handleFieldChange(event) {
        this.form = { ...this.form, values: event.detail.values };
    }

    handleCancel() {
        this.form = undefined;
    }

    async handleSave(event) {
        const { recordId } = this.form;
        const values = pickValues(event.detail.values, FIELDS);
        const taken = this.messageTemplate.translations.filter((t) => t.Id !== recordId).map((t) => t.Language__c);
        const fields = recordFields(values, { create: !recordId });
        await saveForm(this, {
            values,
            errors: validateTranslation(values, this.objectInfo, taken),
            write: () => {
                if (recordId) return updateRecord({ fields: { Id: recordId, ...fields } });
                return createRecord({
                    apiName: 'Message_Template_Translation__c',
                    fields: { Message_Template__c: this.messageTemplate.Id, ...fields }
                });
            },
            savedName: `${this.messageTemplate.Name} (${fields.Language__c})`,
            afterSave: () => this.dispatchEvent(new CustomEvent('changed'))
        });
    }

    async handleDelete(event) {
        const t = this.messageTemplate.translations.find((x) => x.Id === event.target.dataset.id);
        const name = `${this.messageTemplate.Name} (${t.Language__c})`;
        await confirmAndDelete(this, {
            recordId: t.Id,
            name,
            confirmMessage: format(CONFIRM_DELETE, name),
            afterDelete: () => this.dispatchEvent(new CustomEvent('changed'))
        });
    }

    toast(variant, message) {
        this.dispatchEvent(new ShowToastEvent({ title: TITLE, message, variant }));
    }
}
