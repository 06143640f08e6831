import { LightningElement, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { createRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import {
    externalChannelName,
    format,
    isDefaultExternalChannel,
    nodes,
    objectChoices,
    objectInfosByName,
    objectOptions,
    recordFields,
    validateExternalChannel
} from 'c/switchboardAdminRules';
import { confirmAndDelete, pickValues, readQuery, refreshQuery, saveForm } from 'c/switchboardAdminTab';
import TITLE from '@salesforce/label/c.SB_Admin_External_Channels';
import NEW_EXTERNAL from '@salesforce/label/c.SB_Admin_New_External_Channel';
import CLONE_EXTERNAL from '@salesforce/label/c.SB_Admin_Clone_External_Channel';
import NAME from '@salesforce/label/c.SB_Admin_Field_Name';
import OBJECT from '@salesforce/label/c.SB_Admin_Field_Object';
import FIELD from '@salesforce/label/c.SB_Admin_Field_Phone_Field';
import CHANNEL_TYPE from '@salesforce/label/c.SB_Admin_Field_Channel_Type';
import DEFAULT from '@salesforce/label/c.SB_Admin_Field_Default';
import CLONE from '@salesforce/label/c.SB_Admin_Clone';
import DELETE from '@salesforce/label/c.SB_Admin_Delete';
import CONFIRM_DELETE from '@salesforce/label/c.SB_Admin_Confirm_Delete_External_Channel';
import DEFAULT_NOT_DELETABLE from '@salesforce/label/c.SB_Admin_Default_Not_Deletable';

const QUERY = gql`
    query switchboardAdminExternalChannels {
        uiapi {
            query {
                External_Channel__c(first: 200, orderBy: { Name: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Name { value }
                            Object_API_Name__c { value }
                            Field_API_Name__c { value }
                            Channel_Type__c { value }
                            Channel_Type__r { Name { value } }
                        }
                    }
                }
                Channel_Type__c(first: 200, orderBy: { Name: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Name { value }
                        }
                    }
                }
            }
        }
    }
`;

const FIELDS = ['Name', 'Object_API_Name__c', 'Field_API_Name__c', 'Channel_Type__c'];

export default class SwitchboardAdminExternalChannels extends LightningElement {
    labels = { title: TITLE, newExternal: NEW_EXTERNAL };

    columns = [
        { label: NAME, fieldName: 'Name' },
        { label: OBJECT, fieldName: 'Object_API_Name__c' },
        { label: FIELD, fieldName: 'Field_API_Name__c' },
        { label: CHANNEL_TYPE, fieldName: 'channelTypeName' },
        { label: DEFAULT, fieldName: 'isDefault', type: 'boolean' },
        { type: 'action', typeAttributes: { rowActions: (row, done) => done(rowActions(row)) } }
    ];

    externalChannels = [];
    channelTypes = [];
    objectInfos = {};
    loadError;
    form; // { heading, fields, errors, values }
    saving = false;
    refreshResult;

    @wire(graphql, { query: QUERY })
    wired(result) {
        const query = readQuery(this, result);
        if (!query) return;
        this.externalChannels = nodes(query.External_Channel__c).map((r) => ({
            ...r,
            channelTypeName: (r.Channel_Type__r && r.Channel_Type__r.Name) || '',
            isDefault: isDefaultExternalChannel(r.Object_API_Name__c, r.Field_API_Name__c)
        }));
        this.channelTypes = nodes(query.Channel_Type__c);
    }

    get objectApiNames() {
        return objectChoices(this.externalChannels.map((r) => r.Object_API_Name__c));
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

    // Only phone-type fields hold numbers the sidecar can match.
    phoneFieldOptions(object) {
        const info = this.objectInfos[object];
        if (!info) return [];
        return Object.values(info.fields)
            .filter((f) => f.dataType === 'Phone')
            .map((f) => ({ label: `${f.label} (${f.apiName})`, value: f.apiName }))
            .sort((a, b) => a.label.localeCompare(b.label));
    }

    formFields(v) {
        return [
            { name: 'Object_API_Name__c', label: OBJECT, type: 'combobox', options: this.objectOptions, value: v.Object_API_Name__c, required: true },
            { name: 'Field_API_Name__c', label: FIELD, type: 'combobox', options: this.phoneFieldOptions(v.Object_API_Name__c), value: v.Field_API_Name__c, required: true },
            { name: 'Name', label: NAME, value: v.Name, required: true },
            {
                name: 'Channel_Type__c',
                label: CHANNEL_TYPE,
                type: 'combobox',
                options: this.channelTypes.map((t) => ({ label: t.Name, value: t.Id })),
                value: v.Channel_Type__c
            }
        ];
    }

    openForm(heading, values) {
        this.form = { heading, values, fields: this.formFields(values), errors: {} };
    }

    handleNew() {
        const only = this.channelTypes.length === 1 ? this.channelTypes[0].Id : undefined;
        this.openForm(NEW_EXTERNAL, { Channel_Type__c: only });
    }

    // Choosing an object offers its phone fields; choosing a field names the
    // row after it unless the admin typed a name of their own.
    handleFieldChange(event) {
        const { name, values } = event.detail;
        const next = { ...values };
        const autoName = externalChannelName(this.form.values.Object_API_Name__c, this.form.values.Field_API_Name__c);
        if (name === 'Object_API_Name__c') next.Field_API_Name__c = undefined;
        if ((name === 'Object_API_Name__c' || name === 'Field_API_Name__c') && (!next.Name || next.Name === autoName)) {
            next.Name = next.Object_API_Name__c && next.Field_API_Name__c ? externalChannelName(next.Object_API_Name__c, next.Field_API_Name__c) : '';
        }
        if (name === 'Object_API_Name__c' || next.Name !== values.Name) {
            this.form = { ...this.form, values: next, fields: this.formFields(next) };
        } else {
            this.form = { ...this.form, values: next };
        }
    }

    async handleRowAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'clone') {
            this.openForm(CLONE_EXTERNAL, {
                Object_API_Name__c: row.Object_API_Name__c,
                Field_API_Name__c: row.Field_API_Name__c,
                Name: `${row.Name}_Copy`,
                Channel_Type__c: row.Channel_Type__c
            });
        } else if (action.name === 'delete') {
            await this.remove(row);
        }
    }

    async remove(row) {
        // SPEC §1: the defaults cannot be deleted from the Administration tab.
        if (isDefaultExternalChannel(row.Object_API_Name__c, row.Field_API_Name__c)) {
            this.toast('error', format(DEFAULT_NOT_DELETABLE, row.Name));
            return;
        }
        await confirmAndDelete(this, {
            recordId: row.Id,
            name: row.Name,
            confirmMessage: format(CONFIRM_DELETE, row.Name),
            afterDelete: () => refreshQuery(this)
        });
    }

    handleCancel() {
        this.form = undefined;
    }

    async handleSave(event) {
        const values = event.detail.values;
        const fields = recordFields(pickValues(values, FIELDS), { create: true });
        await saveForm(this, {
            values,
            errors: validateExternalChannel(values),
            write: () => createRecord({ apiName: 'External_Channel__c', fields }),
            savedName: fields.Name,
            afterSave: () => refreshQuery(this)
        });
    }

    toast(variant, message) {
        this.dispatchEvent(new ShowToastEvent({ title: TITLE, message, variant }));
    }
}

function rowActions(row) {
    return [
        { label: CLONE, name: 'clone' },
        { label: DELETE, name: 'delete', disabled: row.isDefault }
    ];
}
