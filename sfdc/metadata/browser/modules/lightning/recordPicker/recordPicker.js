// lightning-record-picker stand-in: the platform component is org-only (not
// in lightning-base-components). Same public API subset — label,
// placeholder, objectApiName, value, filter, displayInfo, matchingInfo,
// disabled, required, variant — and the same "change" event with
// detail.recordId; suggestions come from the GraphQL endpoint, as the
// platform picker's do.
import { LightningElement, api, track } from 'lwc';
import { request } from 'sbx/org';

const OPS = { eq: 'eq', ne: 'ne', lt: 'lt', gt: 'gt', lte: 'lte', gte: 'gte', like: 'like', in: 'in', nin: 'nin' };

export default class RecordPicker extends LightningElement {
    @api label = '';
    @api placeholder = 'Search...';
    @api objectApiName;
    @api filter;
    @api displayInfo;
    @api matchingInfo;
    @api disabled = false;
    @api required = false;
    @api variant = 'label-stacked';
    @track suggestions = [];
    term = '';
    selectedLabel = '';
    _value = null;
    seq = 0;

    @api
    get value() {
        return this._value;
    }
    set value(v) {
        this._value = v || null;
    }

    get primaryField() {
        return (this.displayInfo && this.displayInfo.primaryField) || (this.matchingInfo && this.matchingInfo.primaryField && this.matchingInfo.primaryField.fieldPath) || 'Name';
    }

    get labelHidden() {
        return this.variant === 'label-hidden';
    }

    get open() {
        return this.suggestions.length > 0;
    }

    get comboboxClass() {
        return 'slds-combobox slds-dropdown-trigger slds-dropdown-trigger_click' + (this.open ? ' slds-is-open' : '');
    }

    where(term) {
        const and = [{ [this.primaryField]: { like: '%' + term.replace(/[%_\\]/g, '\\$&') + '%' } }];
        ((this.filter && this.filter.criteria) || []).forEach((c) => {
            const op = OPS[c.operator] || 'eq';
            and.push({ [c.fieldPath]: { [op]: c.value } });
        });
        return { and };
    }

    async search(term) {
        const seq = ++this.seq;
        const f = this.primaryField;
        const query = `query picker($where: ${this.objectApiName}_Filter) { uiapi { query { ${this.objectApiName}(where: $where, first: 10, orderBy: {${f}: {order: ASC}}) { edges { node { Id ${f} { value } } } } } } }`;
        try {
            const res = await request('POST', '/graphql', { query, variables: { where: this.where(term) } });
            if (seq !== this.seq) {
                return;
            }
            const conn = res.data && res.data.uiapi.query[this.objectApiName];
            this.suggestions = conn ? conn.edges.map((e) => ({ id: e.node.Id, label: e.node[f].value })) : [];
        } catch {
            this.suggestions = [];
        }
    }

    handleInput(event) {
        this.term = event.target.value;
        if (this.term.length >= 2) {
            this.search(this.term);
        } else {
            this.suggestions = [];
        }
    }

    handleSelect(event) {
        const id = event.currentTarget.dataset.id;
        const picked = this.suggestions.find((s) => s.id === id);
        this._value = id;
        this.selectedLabel = picked ? picked.label : id;
        this.suggestions = [];
        this.dispatchEvent(new CustomEvent('change', { detail: { recordId: id } }));
    }

    handleClear() {
        this._value = null;
        this.selectedLabel = '';
        this.term = '';
        this.dispatchEvent(new CustomEvent('change', { detail: { recordId: null } }));
    }

    get hasSelection() {
        return !!this._value;
    }
}
