import { LightningElement, api } from 'lwc';
import { format, mergeParts } from 'c/switchboardAdminRules';
import PREVIEW from '@salesforce/label/c.SB_Admin_Preview';
import LENGTH from '@salesforce/label/c.SB_Admin_Preview_Length';
import UNKNOWN from '@salesforce/label/c.SB_Admin_Preview_Unknown_Field';

export default class SwitchboardAdminPreview extends LightningElement {
    @api text;
    @api objectInfo;
    @api language;
    labels = { unknown: UNKNOWN };

    get caption() {
        return format(PREVIEW, this.language || 'en');
    }

    get parts() {
        return mergeParts(this.text, this.objectInfo).map((p, i) => ({
            ...p,
            key: `p${i}`,
            shown: p.label ? `‹${p.label}›` : p.text,
            className: p.unknown ? 'merge unknown slds-badge slds-theme_error' : 'merge slds-badge'
        }));
    }

    get lengthText() {
        return format(LENGTH, (this.text || '').length);
    }
}
