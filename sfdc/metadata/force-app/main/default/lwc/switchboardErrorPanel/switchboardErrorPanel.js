import { LightningElement, api } from 'lwc';
import ERROR_TITLE from '@salesforce/label/c.SB_Error_Title';
import { reduceErrors } from 'c/switchboardUtils';

export default class SwitchboardErrorPanel extends LightningElement {
    /** An LDS/GraphQL error, or a list of them. */
    @api errors;
    title = ERROR_TITLE;

    get messages() {
        return reduceErrors(this.errors).map((text, i) => ({ key: `${i}`, text }));
    }
}
