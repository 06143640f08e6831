import { LightningElement, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { createRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import {
    format,
    nodes,
    objectChoices,
    objectInfosByName,
    objectOptions,
    recordFields,
    validateTemplate
} from 'c/switchboardAdminRules';
import { pickValues, readQuery, refreshQuery, saveForm } from 'c/switchboardAdminTab';
import TITLE from '@salesforce/label/c.SB_Admin_Templates';
import NEW_TEMPLATE from '@salesforce/label/c.SB_Admin_New_Template';
import EDIT_TEMPLATE from '@salesforce/label/c.SB_Admin_Edit_Template';
import NAME from '@salesforce/label/c.SB_Admin_Field_Name';
import OBJECT from '@salesforce/label/c.SB_Admin_Field_Object';
import MESSAGE_TEXT from '@salesforce/label/c.SB_Admin_Field_Message_Text';
import MERGE_HELP from '@salesforce/label/c.SB_Admin_Help_Merge_Fields';
import LANGUAGES from '@salesforce/label/c.SB_Admin_Field_Languages';
import EDIT from '@salesforce/label/c.SB_Admin_Edit';
import TRANSLATIONS from '@salesforce/label/c.SB_Admin_Translations';

const QUERY = gql`
    query switchboardAdminTemplates {
        uiapi {
            query {
                Message_Template__c(first: 200, orderBy: { Name: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Name { value }
                            SObject_API_Name__c { value }
                            Message_Text__c { value }
                            Translations__r(first: 50, orderBy: { Language__c: { order: ASC } }) {
                                edges {
                                    node {
                                        Id
                                        Language__c { value }
                                        Text_Body__c { value }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
`;

const FIELDS = ['Name', 'SObject_API_Name__c', 'Message_Text__c'];

export default class SwitchboardAdminTemplates extends LightningElement {
    labels = { title: TITLE, newTemplate: NEW_TEMPLATE };

    columns = [
        { label: NAME, fieldName: 'Name' },
        { label: OBJECT, fieldName: 'SObject_API_Name__c' },
        { label: MESSAGE_TEXT, fieldName: 'Message_Text__c', wrapText: true },
        { label: LANGUAGES, fieldName: 'languages' },
        {
            type: 'action',
            typeAttributes: {
                rowActions: [
                    { label: EDIT, name: 'edit' },
                    { label: TRANSLATIONS, name: 'translations' }
                ]
            }
        }
    ];

    templates = [];
    objectInfos = {};
    selectedId;
    loadError;
    form; // { recordId, heading, fields, values, errors }
    saving = false;
    refreshResult;

    @wire(graphql, { query: QUERY })
    wired(result) {
        const query = readQuery(this, result);
        if (!query) return;
        this.templates = nodes(query.Message_Template__c).map((t) => {
            const translations = nodes(t.Translations__r);
            return {
                Id: t.Id,
                Name: t.Name,
                SObject_API_Name__c: t.SObject_API_Name__c,
                Message_Text__c: t.Message_Text__c,
                translations,
                languages: ['en', ...translations.map((x) => x.Language__c)].join(', ')
            };
        });
    }

    get objectApiNames() {
        return objectChoices(this.templates.map((r) => r.SObject_API_Name__c));
    }

    @wire(getObjectInfos, { objectApiNames: '$objectApiNames' })
    wiredInfos({ data }) {
        if (!data) return;
        this.objectInfos = objectInfosByName(data);
        if (this.form) this.form = { ...this.form, fields: this.formFields(this.form.values) };
    }

    get objectOptions() {
        return objectOptions(this.objectInfos);
    }

    get selected() {
        return this.templates.find((t) => t.Id === this.selectedId);
    }

    get selectedObjectInfo() {
        return this.selected ? this.objectInfos[this.selected.SObject_API_Name__c] : undefined;
    }

    get formObjectInfo() {
        return this.form ? this.objectInfos[this.form.values.SObject_API_Name__c] : undefined;
    }

    formFields(v) {
        return [
            { name: 'Name', label: NAME, value: v.Name, required: true },
            { name: 'SObject_API_Name__c', label: OBJECT, type: 'combobox', options: this.objectOptions, value: v.SObject_API_Name__c, required: true },
            { name: 'Message_Text__c', label: MESSAGE_TEXT, type: 'textarea', value: v.Message_Text__c, required: true, help: MERGE_HELP }
        ];
    }

    openForm(heading, values, recordId) {
        this.form = { recordId, heading, values, fields: this.formFields(values), errors: {} };
    }

    handleNew() {
        this.openForm(NEW_TEMPLATE, { Name: '', SObject_API_Name__c: 'Contact', Message_Text__c: '' });
    }

    handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'edit') {
            this.openForm(format(EDIT_TEMPLATE, row.Name), pickValues(row, FIELDS), row.Id);
        } else if (action.name === 'translations') {
            this.selectedId = row.Id;
        }
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
        const fields = recordFields(values, { create: !recordId });
        await saveForm(this, {
            values,
            errors: validateTemplate(values, this.objectInfos[values.SObject_API_Name__c]),
            write: async () => {
                if (recordId) {
                    await updateRecord({ fields: { Id: recordId, ...fields } });
                } else {
                    const record = await createRecord({ apiName: 'Message_Template__c', fields });
                    // English first, then its translations: open them for the new template.
                    this.selectedId = record.id;
                }
            },
            savedName: fields.Name,
            afterSave: () => refreshQuery(this)
        });
    }

    handleChanged() {
        return refreshQuery(this);
    }

    toast(variant, message) {
        this.dispatchEvent(new ShowToastEvent({ title: TITLE, message, variant }));
    }
}
