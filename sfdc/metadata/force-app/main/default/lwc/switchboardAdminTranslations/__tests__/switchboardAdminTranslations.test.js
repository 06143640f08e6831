import { createElement } from 'lwc';
import SwitchboardAdminTranslations from 'c/switchboardAdminTranslations';
import { createRecord, deleteRecord } from 'lightning/uiRecordApi';
import LightningConfirm from 'lightning/confirm';

jest.mock('lightning/confirm', () => ({ __esModule: true, default: { open: jest.fn() } }));

// One macrotask lets every pending promise (LDS calls, re-renders) settle.
function flush() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation
    return new Promise((resolve) => setTimeout(resolve, 0));
}

const leadInfo = {
    apiName: 'Lead',
    fields: {
        FirstName: { apiName: 'FirstName', label: 'First Name', dataType: 'String' },
        Company: { apiName: 'Company', label: 'Company', dataType: 'String' }
    }
};

function mount(translations) {
    const element = createElement('c-switchboard-admin-translations', { is: SwitchboardAdminTranslations });
    element.messageTemplate = {
        Id: 'a06Hn00000TmPlBIAR',
        Name: 'Lead welcome',
        SObject_API_Name__c: 'Lead',
        Message_Text__c: 'Welcome, {!Lead.FirstName} from {!Lead.Company}!',
        translations
    };
    element.objectInfo = leadInfo;
    const toasts = [];
    const changed = jest.fn();
    element.addEventListener('lightning__showtoast', (e) => toasts.push(e.detail));
    element.addEventListener('changed', changed);
    document.body.appendChild(element);
    return { element, toasts, changed };
}

describe('c-switchboard-admin-translations', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it('says customers get the English text while there is no translation, and previews it', async () => {
        const { element } = mount([]);
        await flush();
        expect(element.shadowRoot.querySelector('.no-translations')).not.toBeNull();
        const preview = element.shadowRoot.querySelector('c-switchboard-admin-preview.template-preview');
        expect([...preview.shadowRoot.querySelectorAll('.merge')].map((m) => m.textContent)).toEqual(['‹First Name›', '‹Company›']);
        await expect(element).toBeAccessible();
    });

    it('refuses a translation whose text names a field the object lacks', async () => {
        const { element, toasts, changed } = mount([]);
        await flush();
        element.shadowRoot.querySelector('lightning-button.new-translation').click();
        await flush();
        const f = element.shadowRoot.querySelector('c-switchboard-admin-form');
        const set = (name, value) => {
            const input = f.shadowRoot.querySelector(`[data-name="${name}"]`);
            input.value = value;
            input.dispatchEvent(new CustomEvent('change', { detail: { value } }));
        };
        set('Language__c', 'es');
        set('Text_Body__c', 'Bienvenido, {!Lead.Nombre}!');
        f.shadowRoot.querySelector('lightning-button.save').click();
        await flush();
        expect(createRecord).not.toHaveBeenCalled();
        expect(changed).not.toHaveBeenCalled();
        expect([...f.shadowRoot.querySelectorAll('.errors li')].map((li) => li.textContent)).toEqual([
            'c.SB_Admin_Field_Text_Body: c.SB_Admin_Error_Merge_Unknown_Field'
        ]);
        expect(toasts.map((t) => t.variant)).toEqual(['error']);
        await expect(element).toBeAccessible();
    });

    it('reports a delete the org refuses and keeps the list', async () => {
        LightningConfirm.open.mockResolvedValue(true);
        deleteRecord.mockRejectedValueOnce({ status: 403, body: { message: 'insufficient access rights on object id' } });
        const { element, toasts, changed } = mount([{ Id: 'a07Hn00000TrAnCIAR', Language__c: 'es', Text_Body__c: 'Hola {!Lead.FirstName}' }]);
        await flush();
        element.shadowRoot.querySelector('lightning-button.delete').click();
        await flush();
        expect(deleteRecord).toHaveBeenCalledWith('a07Hn00000TrAnCIAR');
        expect(toasts).toEqual([{ title: 'c.SB_Admin_Templates', message: 'insufficient access rights on object id', variant: 'error' }]);
        expect(changed).not.toHaveBeenCalled();
    });
});
