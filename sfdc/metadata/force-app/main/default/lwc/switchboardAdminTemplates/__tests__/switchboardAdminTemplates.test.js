import { createElement } from 'lwc';
import SwitchboardAdminTemplates from 'c/switchboardAdminTemplates';
import { graphql } from 'lightning/graphql';
import { createRecord, deleteRecord, updateRecord } from 'lightning/uiRecordApi';
import { getObjectInfos } from 'lightning/uiObjectInfoApi';
import LightningConfirm from 'lightning/confirm';

const templates = require('./data/templates.json');
const objectInfos = require('./data/objectInfos.json');

jest.mock('lightning/confirm', () => ({ __esModule: true, default: { open: jest.fn() } }));

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

async function mount() {
    const element = createElement('c-switchboard-admin-templates', { is: SwitchboardAdminTemplates });
    document.body.appendChild(element);
    const refresh = jest.fn().mockResolvedValue();
    const toasts = [];
    element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
    graphql.emit(templates, undefined, refresh);
    await flush();
    // The test adapter's emit() is how wire data reaches the component in jest.
     
    getObjectInfos.emit(objectInfos);
    await flush();
    return { element, refresh, toasts };
}

function typeInto(formEl, name, value) {
    const el = formEl.shadowRoot.querySelector(`[data-name="${name}"]`);
    el.value = value;
    el.dispatchEvent(new CustomEvent('change', { detail: { value } }));
}

function errorsOf(formEl) {
    return [...formEl.shadowRoot.querySelectorAll('.errors li')].map((li) => li.textContent);
}

function previewText(previewEl) {
    return [...previewEl.shadowRoot.querySelectorAll('.preview-text > span')].map((s) => s.textContent).join('');
}

function rowAction(element, name, index) {
    const table = element.shadowRoot.querySelector('lightning-datatable');
    table.dispatchEvent(new CustomEvent('rowaction', { detail: { action: { name }, row: table.data[index] } }));
}

function translations(element) {
    return element.shadowRoot.querySelector('c-switchboard-admin-translations');
}

describe('c-switchboard-admin-templates', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('lists templates with their languages, English first', async () => {
        const { element } = await mount();
        const table = element.shadowRoot.querySelector('lightning-datatable');
        expect(table.data.map((t) => [t.Name, t.SObject_API_Name__c, t.languages])).toEqual([
            ['Appointment reminder', 'Contact', 'en, de'],
            ['Lead welcome', 'Lead', 'en']
        ]);
        await expect(element).toBeAccessible();
    });

    it('creates a template for an object picked from the list, previews its merge fields', async () => {
        createRecord.mockResolvedValue({ id: 'a06Hn00000TmPlCIAR' });
        const { element, refresh, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-template').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        expect(f.shadowRoot.querySelector('[data-name="SObject_API_Name__c"]').options.map((o) => o.value)).toEqual(['Account', 'Contact', 'Lead']);
        typeInto(f, 'Name', 'Payment due');
        typeInto(f, 'SObject_API_Name__c', 'Account');
        typeInto(f, 'Message_Text__c', 'Dear {!Account.Name}, your invoice is due.');
        await flush();
        const preview = element.shadowRoot.querySelector('c-switchboard-admin-preview.form-preview');
        expect(previewText(preview)).toBe('Dear ‹Account Name›, your invoice is due.');
        await expect(element).toBeAccessible();

        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Message_Template__c',
            fields: { Name: 'Payment due', SObject_API_Name__c: 'Account', Message_Text__c: 'Dear {!Account.Name}, your invoice is due.' }
        });
        expect(toasts.map((t) => t.variant)).toEqual(['success']);
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('refuses a template whose merge field is misspelt or not a merge field, inline and as a toast', async () => {
        const { element, toasts } = await mount();
        element.shadowRoot.querySelector('lightning-button.new-template').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        typeInto(f, 'Name', 'Broken');
        typeInto(f, 'Message_Text__c', 'Hi {!Contact.FirstNam}');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(errorsOf(f)).toEqual(['c.SB_Admin_Field_Message_Text: c.SB_Admin_Error_Merge_Unknown_Field']);
        expect(toasts).toEqual([{ title: 'c.SB_Admin_Templates', message: 'c.SB_Admin_Not_Saved', variant: 'error' }]);
        const preview = element.shadowRoot.querySelector('c-switchboard-admin-preview.form-preview');
        expect(preview.shadowRoot.querySelector('.merge.unknown').textContent).toContain('{!Contact.FirstNam}');

        typeInto(f, 'Message_Text__c', 'Hi {!IF(Contact.FirstName, "x", "y")}');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(errorsOf(f)).toEqual(['c.SB_Admin_Field_Message_Text: c.SB_Admin_Error_Merge_Syntax']);
        await expect(element).toBeAccessible();
    });

    it('edits a template with an update carrying its Id', async () => {
        const { element } = await mount();
        rowAction(element, 'edit', 1);
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        typeInto(f, 'Message_Text__c', 'Welcome, {!Lead.FirstName}!');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(updateRecord).toHaveBeenCalledWith({
            fields: { Id: 'a06Hn00000TmPlBIAR', Name: 'Lead welcome', SObject_API_Name__c: 'Lead', Message_Text__c: 'Welcome, {!Lead.FirstName}!' }
        });
    });

    it('shows the translations of a template with previews, and adds one per language', async () => {
        createRecord.mockResolvedValue({ id: 'a07Hn00000TrAnBIAR' });
        const { element, refresh } = await mount();
        rowAction(element, 'translations', 0);
        await flush();
        const t = translations(element);
        expect([...t.shadowRoot.querySelectorAll('li.translation')].map((li) => li.dataset.language)).toEqual(['de']);
        const dePreview = t.shadowRoot.querySelector('li.translation c-switchboard-admin-preview');
        expect(previewText(dePreview)).toBe('Hallo ‹First Name›, bis morgen um 10:00. Antworte STOP zum Abmelden.');
        await expect(element).toBeAccessible();

        t.shadowRoot.querySelector('lightning-button.new-translation').click();
        await flush();
        const f = t.shadowRoot.querySelector('c-switchboard-admin-form');
        // A new translation starts from the English text.
        expect(f.shadowRoot.querySelector('[data-name="Text_Body__c"]').value).toBe(
            'Hi {!Contact.FirstName}, see you tomorrow at 10:00. Reply STOP to opt out.'
        );

        // The language already translated, and a code that is not one, are refused.
        typeInto(f, 'Language__c', 'de');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(errorsOf(f)).toEqual(['c.SB_Admin_Field_Language: c.SB_Admin_Error_Duplicate_Language']);
        typeInto(f, 'Language__c', 'French');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(errorsOf(f)).toEqual(['c.SB_Admin_Field_Language: c.SB_Admin_Error_Language']);
        expect(createRecord).not.toHaveBeenCalled();

        typeInto(f, 'Language__c', 'fr');
        typeInto(f, 'Text_Body__c', 'Bonjour {!Contact.FirstName}, à demain 10:00.');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Message_Template_Translation__c',
            fields: { Message_Template__c: 'a06Hn00000TmPlAIAR', Language__c: 'fr', Text_Body__c: 'Bonjour {!Contact.FirstName}, à demain 10:00.' }
        });
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('edits and deletes a translation', async () => {
        LightningConfirm.open.mockResolvedValue(true);
        const { element, refresh } = await mount();
        rowAction(element, 'translations', 0);
        await flush();
        const t = translations(element);
        t.shadowRoot.querySelector('lightning-button.edit').click();
        await flush();
        const f = t.shadowRoot.querySelector('c-switchboard-admin-form');
        typeInto(f, 'Text_Body__c', 'Hallo {!Contact.FirstName}!');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        // Editing keeps its own language: not a duplicate of itself.
        expect(updateRecord).toHaveBeenCalledWith({ fields: { Id: 'a07Hn00000TrAnAIAR', Language__c: 'de', Text_Body__c: 'Hallo {!Contact.FirstName}!' } });

        t.shadowRoot.querySelector('lightning-button.delete').click();
        await flush();
        expect(LightningConfirm.open).toHaveBeenCalledTimes(1);
        expect(deleteRecord).toHaveBeenCalledWith('a07Hn00000TrAnAIAR');
        expect(refresh).toHaveBeenCalledTimes(2);
    });
});
