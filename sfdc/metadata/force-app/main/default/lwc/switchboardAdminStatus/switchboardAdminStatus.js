import { LightningElement, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import { createRecord } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import {
    errorMessage,
    externalChannelName,
    format,
    isStale,
    missingDefaults,
    nodes,
    parseChecks
} from 'c/switchboardAdminRules';
import { readQuery, refreshQuery } from 'c/switchboardAdminTab';
import TITLE from '@salesforce/label/c.SB_Admin_Status_Title';
import REFRESH from '@salesforce/label/c.SB_Admin_Refresh';
import INSTANCES from '@salesforce/label/c.SB_Admin_Status_Instances';
import NO_INSTANCES from '@salesforce/label/c.SB_Admin_Status_No_Instances';
import STALE from '@salesforce/label/c.SB_Admin_Status_Stale';
import LIVE from '@salesforce/label/c.SB_Admin_Status_Live';
import LAST_HEARTBEAT from '@salesforce/label/c.SB_Admin_Status_Last_Heartbeat';
import VERSION from '@salesforce/label/c.SB_Admin_Status_Version';
import STREAM from '@salesforce/label/c.SB_Admin_Status_Stream';
import SUBSCRIBED from '@salesforce/label/c.SB_Admin_Status_Subscribed';
import NOT_SUBSCRIBED from '@salesforce/label/c.SB_Admin_Status_Not_Subscribed';
import BACKLOG from '@salesforce/label/c.SB_Admin_Status_Backlog';
import DEAD_LETTERS from '@salesforce/label/c.SB_Admin_Status_Dead_Letters';
import FAILING_CHECKS from '@salesforce/label/c.SB_Admin_Status_Failing_Checks';
import PASSING_CHECKS from '@salesforce/label/c.SB_Admin_Status_Passing_Checks';
import ORG_SETUP from '@salesforce/label/c.SB_Admin_Status_Org_Setup';
import SETUP_COMPLETE from '@salesforce/label/c.SB_Admin_Status_Setup_Complete';
import MISSING_EXTERNAL from '@salesforce/label/c.SB_Admin_Status_Missing_External_Channel';
import MISSING_ACTIVE_CHANNEL from '@salesforce/label/c.SB_Admin_Status_Missing_Active_Channel';
import MISSING_TEMPLATE from '@salesforce/label/c.SB_Admin_Status_Missing_Template';
import CREATE_DEFAULTS from '@salesforce/label/c.SB_Admin_Status_Create_Defaults';
import NEED_CHANNEL_TYPE from '@salesforce/label/c.SB_Admin_Status_Need_Channel_Type';
import CREATED_DEFAULTS from '@salesforce/label/c.SB_Admin_Status_Created_Defaults';
import CREATE_FAILED from '@salesforce/label/c.SB_Admin_Status_Create_Failed';

const STATUS_QUERY = gql`
    query switchboardAdminStatus {
        uiapi {
            query {
                Switchboard_Status__c(first: 50, orderBy: { Instance__c: { order: ASC } }) {
                    edges {
                        node {
                            Id
                            Instance__c { value }
                            Version__c { value }
                            Started_At__c { value }
                            Last_Heartbeat__c { value }
                            Heartbeat_Interval_Seconds__c { value }
                            Stream_Subscribed__c { value }
                            Queue_Backlog__c { value }
                            Dead_Letters__c { value }
                            Public_Url__c { value }
                            Checks__c { value }
                        }
                    }
                }
                External_Channel__c(first: 200) {
                    edges {
                        node {
                            Id
                            Object_API_Name__c { value }
                            Field_API_Name__c { value }
                        }
                    }
                }
                Channel_Type__c(first: 1, orderBy: { CreatedDate: { order: ASC } }) {
                    edges {
                        node {
                            Id
                        }
                    }
                }
                Channel__c(first: 1, where: { Active__c: { eq: true } }) {
                    edges {
                        node {
                            Id
                        }
                    }
                }
                Message_Template__c(first: 1) {
                    edges {
                        node {
                            Id
                        }
                    }
                }
            }
        }
    }
`;

export default class SwitchboardAdminStatus extends LightningElement {
    labels = {
        title: TITLE,
        refresh: REFRESH,
        instances: INSTANCES,
        noInstances: NO_INSTANCES,
        stale: STALE,
        live: LIVE,
        lastHeartbeat: LAST_HEARTBEAT,
        version: VERSION,
        stream: STREAM,
        backlog: BACKLOG,
        deadLetters: DEAD_LETTERS,
        failingChecks: FAILING_CHECKS,
        orgSetup: ORG_SETUP,
        setupComplete: SETUP_COMPLETE,
        createDefaults: CREATE_DEFAULTS,
        needChannelType: NEED_CHANNEL_TYPE
    };

    data;
    loadError;
    creating = false;
    refreshResult;

    @wire(graphql, { query: STATUS_QUERY })
    wiredStatus(result) {
        const query = readQuery(this, result);
        if (query) this.data = query;
    }

    get instances() {
        if (!this.data) return [];
        const now = Date.now();
        return nodes(this.data.Switchboard_Status__c).map((r) => {
            const checks = parseChecks(r.Checks__c).map((c, i) => ({ ...c, key: `${r.Id}-${i}` }));
            const failing = checks.filter((c) => !c.ok);
            const passing = checks.filter((c) => c.ok);
            return {
                ...r,
                stale: isStale(r.Last_Heartbeat__c, r.Heartbeat_Interval_Seconds__c, now),
                streamText: r.Stream_Subscribed__c ? SUBSCRIBED : NOT_SUBSCRIBED,
                failing,
                passing,
                hasFailures: failing.length > 0,
                hasPassing: passing.length > 0,
                passingSummary: format(PASSING_CHECKS, passing.length)
            };
        });
    }

    get noInstances() {
        return this.data !== undefined && this.instances.length === 0;
    }

    get missingExternal() {
        return this.data ? missingDefaults(nodes(this.data.External_Channel__c)) : [];
    }

    get channelTypeId() {
        const types = this.data ? nodes(this.data.Channel_Type__c) : [];
        return types.length ? types[0].Id : undefined;
    }

    get missing() {
        if (!this.data) return [];
        const list = this.missingExternal.map((d) => ({
            key: `ext-${d.object}.${d.field}`,
            text: format(MISSING_EXTERNAL, `${d.object}.${d.field}`)
        }));
        if (nodes(this.data.Channel__c).length === 0) list.push({ key: 'channel', text: MISSING_ACTIVE_CHANNEL });
        if (nodes(this.data.Message_Template__c).length === 0) list.push({ key: 'template', text: MISSING_TEMPLATE });
        return list;
    }

    get setupComplete() {
        return this.data !== undefined && this.missing.length === 0;
    }

    get hasMissingDefaults() {
        return this.missingExternal.length > 0;
    }

    get noChannelType() {
        return this.channelTypeId === undefined;
    }

    get createDisabled() {
        return this.creating || this.noChannelType;
    }

    handleRefresh() {
        return refreshQuery(this);
    }

    // Creates exactly the defaults no row covers, one record each, so a
    // second click after a partial failure creates only what is still
    // missing.
    async handleCreateDefaults() {
        const channelType = this.channelTypeId;
        const todo = this.missingExternal;
        if (!channelType || todo.length === 0) return;
        this.creating = true;
        const results = await Promise.allSettled(
            todo.map((d) =>
                createRecord({
                    apiName: 'External_Channel__c',
                    fields: {
                        Name: externalChannelName(d.object, d.field),
                        Object_API_Name__c: d.object,
                        Field_API_Name__c: d.field,
                        Channel_Type__c: channelType
                    }
                })
            )
        );
        const created = [];
        const failed = [];
        results.forEach((r, i) => {
            const name = `${todo[i].object}.${todo[i].field}`;
            if (r.status === 'fulfilled') created.push(name);
            else failed.push(`${name}: ${errorMessage(r.reason)}`);
        });
        this.creating = false;
        if (created.length) {
            this.toast('success', format(CREATED_DEFAULTS, created.join(', ')));
        }
        if (failed.length) {
            this.toast('error', format(CREATE_FAILED, failed.join('; ')));
        }
        await this.handleRefresh();
    }

    toast(variant, message) {
        this.dispatchEvent(new ShowToastEvent({ title: TITLE, message, variant }));
    }
}
