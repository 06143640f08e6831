import { createElement } from 'lwc';
import SwitchboardAdminForm from 'c/switchboardAdminForm';

// One macrotask lets every pending promise (re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

const FIELDS = [
    { name: 'Name', label: 'Name', value: 'Support', required: true },
    { name: 'Phone_Number__c', label: 'Phone Number', type: 'tel', value: '+14155550100' },
    { name: 'Channel_Type__c', label: 'Channel Type', type: 'combobox', options: [{ label: 'Twilio US', value: 'a01' }], value: 'a01' },
    { name: 'Active__c', label: 'Active', type: 'checkbox', value: true },
    { name: 'Message_Text__c', label: 'Text', type: 'textarea', value: 'Hi' }
];

function mount() {
    const element = createElement('c-switchboard-admin-form', { is: SwitchboardAdminForm });
    element.heading = 'Edit Channel';
    element.fields = FIELDS;
    document.body.appendChild(element);
    return element;
}

describe('c-switchboard-admin-form', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    it('renders one labelled input per field, of the right kind', async () => {
        const element = mount();
        await flush();
        const inputs = [...element.shadowRoot.querySelectorAll('[data-name]')];
        expect(inputs.map((i) => [i.tagName.toLowerCase(), i.dataset.name, i.label])).toEqual([
            ['lightning-input', 'Name', 'Name'],
            ['lightning-input', 'Phone_Number__c', 'Phone Number'],
            ['lightning-combobox', 'Channel_Type__c', 'Channel Type'],
            ['lightning-input', 'Active__c', 'Active'],
            ['lightning-textarea', 'Message_Text__c', 'Text']
        ]);
        expect(inputs[1].type).toBe('tel');
        expect(inputs[3].checked).toBe(true);
        await expect(element).toBeAccessible();
    });

    it('saves the values as typed, checkbox included', async () => {
        const element = mount();
        const saved = jest.fn();
        const changed = jest.fn();
        element.addEventListener('save', saved);
        element.addEventListener('fieldchange', changed);
        await flush();
        const name = element.shadowRoot.querySelector('[data-name="Name"]');
        name.dispatchEvent(new CustomEvent('change', { detail: { value: 'Sales' } }));
        const active = element.shadowRoot.querySelector('[data-name="Active__c"]');
        active.dispatchEvent(new CustomEvent('change', { detail: { checked: false } }));
        element.shadowRoot.querySelector('lightning-button.save').click();
        expect(changed.mock.calls.map((c) => [c[0].detail.name, c[0].detail.value])).toEqual([
            ['Name', 'Sales'],
            ['Active__c', false]
        ]);
        expect(saved.mock.calls[0][0].detail.values).toEqual({
            Name: 'Sales',
            Phone_Number__c: '+14155550100',
            Channel_Type__c: 'a01',
            Active__c: false,
            Message_Text__c: 'Hi'
        });
    });

    it('shows errors on their inputs and in an assertive summary, and clears them', async () => {
        const element = mount();
        await flush();
        const inline = {};
        element.shadowRoot.querySelectorAll('[data-name]').forEach((input) => {
            input.setCustomValidity = (m) => {
                inline[input.dataset.name] = m;
            };
        });
        element.errors = { Phone_Number__c: 'Use E.164' };
        await flush();
        expect(inline.Phone_Number__c).toBe('Use E.164');
        expect(inline.Name).toBe('');
        const summary = element.shadowRoot.querySelector('.errors');
        expect(summary.getAttribute('aria-live')).toBe('assertive');
        expect([...summary.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['Phone Number: Use E.164']);
        await expect(element).toBeAccessible();

        element.errors = {};
        await flush();
        expect(inline.Phone_Number__c).toBe('');
        expect(summary.querySelectorAll('li')).toHaveLength(0);
    });

    // Lightning inputs show "Complete this field." on an empty required input
    // when reportValidity() runs: a form that has just opened must not call
    // it, or every required field starts out red (seen in a real browser).
    it('reports validity only on inputs that have, or just lost, an error', async () => {
        const element = mount();
        await flush();
        const reported = [];
        element.shadowRoot.querySelectorAll('[data-name]').forEach((input) => {
            input.reportValidity = () => reported.push(input.dataset.name);
        });
        element.errors = {};
        await flush();
        expect(reported).toEqual([]);

        element.errors = { Name: 'Complete this field.', Phone_Number__c: 'Use E.164' };
        await flush();
        expect(reported).toEqual(['Name', 'Phone_Number__c']);

        reported.length = 0;
        element.errors = { Name: 'Complete this field.' };
        await flush();
        // Name still wrong; the phone number's message must be cleared.
        expect(reported).toEqual(['Name', 'Phone_Number__c']);

        reported.length = 0;
        element.errors = { Name: 'Complete this field.' };
        await flush();
        expect(reported).toEqual(['Name']);
    });

    it('cancels', async () => {
        const element = mount();
        const cancelled = jest.fn();
        element.addEventListener('cancel', cancelled);
        await flush();
        element.shadowRoot.querySelector('lightning-button.cancel').click();
        expect(cancelled).toHaveBeenCalledTimes(1);
    });
});
