import { LightningElement, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { createRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import CHANNEL_TYPE_OBJECT from '@salesforce/schema/Channel_Type__c';
import PROVIDER_FIELD from '@salesforce/schema/Channel_Type__c.Provider__c';
import { format, nodes, recordFields, validateChannel, validateChannelType } from 'c/switchboardAdminRules';
import { pickValues, readQuery, refreshQuery, saveForm, writeRow } from 'c/switchboardAdminTab';
import CHANNEL_TYPES from '@salesforce/label/c.SB_Admin_Channel_Types';
import CHANNELS from '@salesforce/label/c.SB_Admin_Channels';
import NEW_CHANNEL_TYPE from '@salesforce/label/c.SB_Admin_New_Channel_Type';
import NEW_CHANNEL from '@salesforce/label/c.SB_Admin_New_Channel';
import EDIT_CHANNEL_TYPE from '@salesforce/label/c.SB_Admin_Edit_Channel_Type';
import EDIT_CHANNEL from '@salesforce/label/c.SB_Admin_Edit_Channel';
import NEED_TYPE from '@salesforce/label/c.SB_Admin_Channels_Need_Type';
import NAME from '@salesforce/label/c.SB_Admin_Field_Name';
import ACCOUNT_SID from '@salesforce/label/c.SB_Admin_Field_Account_Sid';
import PROVIDER from '@salesforce/label/c.SB_Admin_Field_Provider';
import MAX_LENGTH from '@salesforce/label/c.SB_Admin_Field_Max_Message_Length';
import CALLBACK_URL from '@salesforce/label/c.SB_Admin_Field_Callback_Url';
import PHONE from '@salesforce/label/c.SB_Admin_Field_Phone_Number';
import PHONE_HELP from '@salesforce/label/c.SB_Admin_Help_Phone_Number';
import MG_SID from '@salesforce/label/c.SB_Admin_Field_Messaging_Service_Sid';
import QUEUE from '@salesforce/label/c.SB_Admin_Field_Queue_Name';
import CHANNEL_TYPE from '@salesforce/label/c.SB_Admin_Field_Channel_Type';
import ACTIVE from '@salesforce/label/c.SB_Admin_Field_Active';
import EDIT from '@salesforce/label/c.SB_Admin_Edit';
import ACTIVATE from '@salesforce/label/c.SB_Admin_Activate';
import DEACTIVATE from '@salesforce/label/c.SB_Admin_Deactivate';
import ACTIVATED from '@salesforce/label/c.SB_Admin_Channel_Activated';
import DEACTIVATED from '@salesforce/label/c.SB_Admin_Channel_Deactivated';

const QUERY = gql`
    query switchboardAdminChannels {
        uiapi {
            query {
                Channel_Type__c(first: 200, orderBy: { Name: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Name { value }
                            Account_Sid__c { value }
                            Provider__c { value }
                            Max_Message_Length__c { value }
                            Callback_Url__c { value }
                        }
                    }
                }
                Channel__c(first: 200, orderBy: { Name: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Name { value }
                            Phone_Number__c { value }
                            Messaging_Service_Sid__c { value }
                            Queue_Name__c { value }
                            Active__c { value }
                            Channel_Type__c { value }
                            Channel_Type__r { Name { value } }
                        }
                    }
                }
            }
        }
    }
`;

const TYPE_FIELDS = ['Name', 'Account_Sid__c', 'Provider__c', 'Max_Message_Length__c', 'Callback_Url__c'];
const CHANNEL_FIELDS = ['Name', 'Phone_Number__c', 'Messaging_Service_Sid__c', 'Queue_Name__c', 'Channel_Type__c', 'Active__c'];

export default class SwitchboardAdminChannels extends LightningElement {
    labels = {
        channelTypes: CHANNEL_TYPES,
        channels: CHANNELS,
        newChannelType: NEW_CHANNEL_TYPE,
        newChannel: NEW_CHANNEL,
        needType: NEED_TYPE
    };

    typeColumns = [
        { label: NAME, fieldName: 'Name' },
        { label: ACCOUNT_SID, fieldName: 'Account_Sid__c' },
        { label: PROVIDER, fieldName: 'Provider__c' },
        { label: MAX_LENGTH, fieldName: 'Max_Message_Length__c', type: 'number' },
        { type: 'action', typeAttributes: { rowActions: [{ label: EDIT, name: 'edit' }] } }
    ];

    channelColumns = [
        { label: NAME, fieldName: 'Name' },
        { label: PHONE, fieldName: 'Phone_Number__c', type: 'phone' },
        { label: MG_SID, fieldName: 'Messaging_Service_Sid__c' },
        { label: QUEUE, fieldName: 'Queue_Name__c' },
        { label: CHANNEL_TYPE, fieldName: 'channelTypeName' },
        { label: ACTIVE, fieldName: 'Active__c', type: 'boolean' },
        { type: 'action', typeAttributes: { rowActions: (row, done) => done(channelActions(row)) } }
    ];

    channelTypes = [];
    channels = [];
    loadError;
    providerOptions = [];
    form; // { kind: 'type'|'channel', recordId, heading, fields, errors }
    saving = false;
    refreshResult;

    @wire(graphql, { query: QUERY })
    wired(result) {
        const query = readQuery(this, result);
        if (!query) return;
        this.channelTypes = nodes(query.Channel_Type__c);
        this.channels = nodes(query.Channel__c).map((c) => ({
            ...c,
            channelTypeName: (c.Channel_Type__r && c.Channel_Type__r.Name) || ''
        }));
    }

    @wire(getObjectInfo, { objectApiName: CHANNEL_TYPE_OBJECT })
    channelTypeInfo;

    @wire(getPicklistValues, {
        recordTypeId: '$channelTypeInfo.data.defaultRecordTypeId',
        fieldApiName: PROVIDER_FIELD
    })
    wiredProviders({ data }) {
        if (data) this.providerOptions = data.values.map((v) => ({ label: v.label, value: v.value }));
    }

    get typeFormOpen() {
        return this.form !== undefined && this.form.kind === 'type';
    }

    get channelFormOpen() {
        return this.form !== undefined && this.form.kind === 'channel';
    }

    get noChannelTypes() {
        return this.channelTypes.length === 0;
    }

    typeFields(r) {
        return [
            { name: 'Name', label: NAME, value: r.Name, required: true },
            { name: 'Account_Sid__c', label: ACCOUNT_SID, value: r.Account_Sid__c, placeholder: 'AC…' },
            { name: 'Provider__c', label: PROVIDER, type: 'combobox', options: this.providerOptions, value: r.Provider__c },
            { name: 'Max_Message_Length__c', label: MAX_LENGTH, type: 'number', value: r.Max_Message_Length__c },
            { name: 'Callback_Url__c', label: CALLBACK_URL, type: 'url', value: r.Callback_Url__c }
        ];
    }

    channelFields(r) {
        const types = this.channelTypes.map((t) => ({ label: t.Name, value: t.Id }));
        return [
            { name: 'Name', label: NAME, value: r.Name, required: true },
            { name: 'Phone_Number__c', label: PHONE, type: 'tel', value: r.Phone_Number__c, placeholder: '+14155550100', help: PHONE_HELP },
            { name: 'Messaging_Service_Sid__c', label: MG_SID, value: r.Messaging_Service_Sid__c, placeholder: 'MG…' },
            { name: 'Queue_Name__c', label: QUEUE, value: r.Queue_Name__c },
            { name: 'Channel_Type__c', label: CHANNEL_TYPE, type: 'combobox', options: types, value: r.Channel_Type__c, required: true },
            { name: 'Active__c', label: ACTIVE, type: 'checkbox', value: r.Active__c === true }
        ];
    }

    handleNewChannelType() {
        const defaults = { Provider__c: this.providerOptions.length ? this.providerOptions[0].value : undefined, Max_Message_Length__c: 1600 };
        this.form = { kind: 'type', heading: NEW_CHANNEL_TYPE, fields: this.typeFields(defaults), errors: {} };
    }

    handleNewChannel() {
        const only = this.channelTypes.length === 1 ? this.channelTypes[0].Id : undefined;
        this.form = { kind: 'channel', heading: NEW_CHANNEL, fields: this.channelFields({ Channel_Type__c: only, Active__c: true }), errors: {} };
    }

    handleTypeAction(event) {
        const row = event.detail.row;
        if (event.detail.action.name === 'edit') {
            this.form = { kind: 'type', recordId: row.Id, heading: EDIT_CHANNEL_TYPE, fields: this.typeFields(row), errors: {} };
        }
    }

    handleChannelAction(event) {
        const { action, row } = event.detail;
        if (action.name === 'edit') {
            this.form = { kind: 'channel', recordId: row.Id, heading: EDIT_CHANNEL, fields: this.channelFields(row), errors: {} };
        } else if (action.name === 'activate' || action.name === 'deactivate') {
            this.setActive(row, action.name === 'activate');
        }
    }

    setActive(row, active) {
        return writeRow(this, {
            write: () => updateRecord({ fields: { Id: row.Id, Active__c: active } }),
            doneMessage: format(active ? ACTIVATED : DEACTIVATED, row.Name),
            afterWrite: () => refreshQuery(this)
        });
    }

    handleCancel() {
        this.form = undefined;
    }

    async handleSave(event) {
        const { kind, recordId } = this.form;
        const values = event.detail.values;
        const apiName = kind === 'type' ? 'Channel_Type__c' : 'Channel__c';
        const picked = pickValues(values, kind === 'type' ? TYPE_FIELDS : CHANNEL_FIELDS);
        const fields = recordFields(picked, { numbers: ['Max_Message_Length__c'], create: !recordId });
        await saveForm(this, {
            values,
            errors: kind === 'type' ? validateChannelType(values) : validateChannel(values),
            write: () => (recordId ? updateRecord({ fields: { Id: recordId, ...fields } }) : createRecord({ apiName, fields })),
            savedName: fields.Name,
            afterSave: () => refreshQuery(this)
        });
    }

    toast(variant, message) {
        this.dispatchEvent(new ShowToastEvent({ title: CHANNELS, message, variant }));
    }
}

function channelActions(row) {
    return [
        { label: EDIT, name: 'edit' },
        row.Active__c ? { label: DEACTIVATE, name: 'deactivate' } : { label: ACTIVATE, name: 'activate' }
    ];
}
