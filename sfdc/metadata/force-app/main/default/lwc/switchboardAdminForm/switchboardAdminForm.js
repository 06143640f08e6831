import { LightningElement, api } from 'lwc';
import SAVE from '@salesforce/label/c.SB_Admin_Save';
import CANCEL from '@salesforce/label/c.SB_Admin_Cancel';
import FIX from '@salesforce/label/c.SB_Admin_Fix_Errors';

// The parent owns the record and the rules: it passes the fields in, hears
// `save` with the typed values, validates them and passes `errors` back.
export default class SwitchboardAdminForm extends LightningElement {
    @api heading;
    @api saving = false;
    labels = { save: SAVE, cancel: CANCEL, fix: FIX };

    _fields = [];
    _errors = {};
    values = {};
    shown = new Set(); // inputs whose error message is on screen

    // [{ name, label, type: 'text'|'tel'|'number'|'url'|'checkbox'|'combobox'|'textarea', value, options, required, help, placeholder }]
    @api
    get fields() {
        return this._fields;
    }
    set fields(list) {
        this._fields = list || [];
        this.values = {};
        this._fields.forEach((f) => {
            this.values[f.name] = f.value;
        });
    }

    @api
    get errors() {
        return this._errors;
    }
    set errors(map) {
        this._errors = map || {};
        // After render, so inputs that just appeared get their message too.
        Promise.resolve().then(() => this.showInline());
    }

    get inputs() {
        return this._fields.map((f) => ({
            ...f,
            type: f.type || 'text',
            value: this.values[f.name],
            isCombobox: f.type === 'combobox',
            isTextarea: f.type === 'textarea',
            isCheckbox: f.type === 'checkbox'
        }));
    }

    get errorList() {
        return this._fields
            .filter((f) => this._errors[f.name])
            .map((f) => ({ name: f.name, label: f.label, message: this._errors[f.name] }));
    }

    get hasErrors() {
        return this.errorList.length > 0;
    }

    // reportValidity() on an empty required input shows "Complete this
    // field.", so it runs only where a message appears or must disappear:
    // a form that has just opened starts clean.
    showInline() {
        this.template.querySelectorAll('[data-name]').forEach((input) => {
            const name = input.dataset.name;
            const message = this._errors[name] || '';
            input.setCustomValidity(message);
            if (message || this.shown.has(name)) input.reportValidity();
            if (message) this.shown.add(name);
            else this.shown.delete(name);
        });
    }

    handleChange(event) {
        const name = event.target.dataset.name;
        const value = event.target.type === 'checkbox' ? event.detail.checked : event.detail.value;
        this.values = { ...this.values, [name]: value };
        this.dispatchEvent(new CustomEvent('fieldchange', { detail: { name, value, values: { ...this.values } } }));
    }

    handleSave() {
        this.dispatchEvent(new CustomEvent('save', { detail: { values: { ...this.values } } }));
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }
}
