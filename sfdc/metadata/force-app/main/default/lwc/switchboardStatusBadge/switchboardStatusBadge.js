import { LightningElement, api } from 'lwc';

// SLDS themes by Message_Status__c (SPEC §1): final good, final bad, in flight.
const THEME = {
    Delivered: 'slds-theme_success',
    Read: 'slds-theme_success',
    Failed: 'slds-theme_error',
    Undelivered: 'slds-theme_error',
    Error: 'slds-theme_error',
    Queued: 'slds-theme_info',
    Sending: 'slds-theme_info',
    Sent: 'slds-theme_info',
    Canceled: 'slds-theme_shade'
};

export default class SwitchboardStatusBadge extends LightningElement {
    /** Message_Status__c API value. */
    @api status;
    /** The picklist label to show; the API value when absent. */
    @api label;

    get text() {
        return this.label || this.status;
    }

    get badgeClass() {
        return THEME[this.status] || '';
    }
}
