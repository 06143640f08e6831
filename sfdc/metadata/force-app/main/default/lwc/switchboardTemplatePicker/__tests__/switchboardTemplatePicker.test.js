import { createElement } from 'lwc';
import SwitchboardTemplatePicker from 'c/switchboardTemplatePicker';
import { graphql } from 'lightning/graphql';

const templates = require('./data/templates.json');

async function flush() {
    for (let i = 0; i < 3; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function mount() {
    const element = createElement('c-switchboard-template-picker', { is: SwitchboardTemplatePicker });
    element.objectApiName = 'Contact';
    document.body.appendChild(element);
    await flush();
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);

async function pick(element, selector, value) {
    $(element, selector).dispatchEvent(new CustomEvent('change', { detail: { value } }));
    await flush();
}

describe('c-switchboard-template-picker', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
        jest.clearAllMocks();
    });

    it("asks for this object's templates and offers them, languages once one is picked", async () => {
        const element = await mount();
        expect(graphql.getLastConfig().variables).toEqual({ objectApiName: 'Contact' });
        graphql.emit(templates);
        await flush();
        expect($(element, '.sb-template').options).toEqual([
            { label: 'c.SB_Template_None', value: '' },
            { label: 'Appointment reminder', value: 'a05aK000000Tpl1QAC' },
            { label: 'Thank you', value: 'a05aK000000Tpl2QAC' }
        ]);
        expect($(element, '.sb-language')).toBeNull();
        await expect(element).toBeAccessible();

        const select = jest.fn();
        element.addEventListener('select', select);
        await pick(element, '.sb-template', 'a05aK000000Tpl1QAC');
        expect(select.mock.calls[0][0].detail).toEqual({
            templateId: 'a05aK000000Tpl1QAC',
            language: null,
            text: 'Hi {!Contact.FirstName}, this is Acme Dental: see you tomorrow. Reply YES to confirm.'
        });
        const languages = $(element, '.sb-language');
        expect(languages.options[0]).toEqual({ label: 'c.SB_Language_Default', value: '' });
        expect(languages.options.slice(1).map((o) => o.value)).toEqual(['de', 'es']);
        expect(languages.options[1].label).toMatch(/\(de\)$/);
        await expect(element).toBeAccessible();

        await pick(element, '.sb-language', 'es');
        expect(select.mock.calls[1][0].detail).toEqual({
            templateId: 'a05aK000000Tpl1QAC',
            language: 'es',
            text: 'Hola {!Contact.FirstName}, le escribe Acme Dental: hasta mañana. Responda SÍ para confirmar.'
        });

        // Another template starts again from its default text.
        await pick(element, '.sb-template', 'a05aK000000Tpl2QAC');
        expect(select.mock.calls[2][0].detail).toEqual({ templateId: 'a05aK000000Tpl2QAC', language: null, text: 'Thank you for your visit!' });
        expect($(element, '.sb-language')).toBeNull();

        // None clears the text box.
        await pick(element, '.sb-template', '');
        expect(select.mock.calls[3][0].detail).toEqual({ templateId: null, language: null, text: '' });
    });

    it('shows nothing for an object without templates', async () => {
        const element = await mount();
        graphql.emit({ uiapi: { query: { Message_Template__c: { edges: [] } } } });
        await flush();
        expect($(element, '.sb-template')).toBeNull();
    });

    it('shows why templates cannot load', async () => {
        const element = await mount();
        graphql.emitErrors([{ message: "Cannot query field 'Translations__r' on type 'Message_Template__c'" }]);
        await flush();
        expect($(element, 'c-switchboard-error-panel').errors).toEqual([
            { message: "Cannot query field 'Translations__r' on type 'Message_Template__c'" }
        ]);
        await expect(element).toBeAccessible();
    });
});
