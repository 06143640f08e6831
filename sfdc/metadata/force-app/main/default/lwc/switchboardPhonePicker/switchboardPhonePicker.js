import { LightningElement, api } from 'lwc';
import PHONE_LABEL from '@salesforce/label/c.SB_Phone_Label';

export default class SwitchboardPhonePicker extends LightningElement {
    /** [{ value: E.164, label: 'Mobile · (415) 555-0100' }] */
    @api options = [];
    /** The chosen E.164 number. */
    @api value;
    label = PHONE_LABEL;

    handleChange(event) {
        event.stopPropagation();
        this.dispatchEvent(new CustomEvent('change', { detail: { value: event.detail.value } }));
    }
}
