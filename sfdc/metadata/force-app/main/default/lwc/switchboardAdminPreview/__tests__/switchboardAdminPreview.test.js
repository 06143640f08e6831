import { createElement } from 'lwc';
import SwitchboardAdminPreview from 'c/switchboardAdminPreview';

const contactInfo = {
    apiName: 'Contact',
    fields: { FirstName: { apiName: 'FirstName', label: 'First Name', dataType: 'String' } }
};

function mount(props) {
    const element = createElement('c-switchboard-admin-preview', { is: SwitchboardAdminPreview });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

describe('c-switchboard-admin-preview', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    it('shows merge fields by their label and marks unknown ones for sight and screen readers', async () => {
        const element = mount({ text: 'Hi {!Contact.FirstName} {!Contact.Nick}!', objectInfo: contactInfo, language: 'de' });
        await Promise.resolve();
        const merges = [...element.shadowRoot.querySelectorAll('.merge')];
        expect(merges.map((m) => m.textContent)).toEqual(['‹First Name›', '{!Contact.Nick} c.SB_Admin_Preview_Unknown_Field']);
        expect(merges[1].classList).toContain('slds-theme_error');
        expect(merges[0].title).toBe('{!Contact.FirstName}');
        expect(element.shadowRoot.querySelector('figcaption').textContent).toBe('c.SB_Admin_Preview');
        expect(element.shadowRoot.querySelector('.length').textContent).toBe('c.SB_Admin_Preview_Length');
        await expect(element).toBeAccessible();
    });

    it('shows plain text as it is', async () => {
        const element = mount({ text: 'No merge fields here.' });
        await Promise.resolve();
        expect(element.shadowRoot.querySelector('.preview-text').textContent).toBe('No merge fields here.');
        expect(element.shadowRoot.querySelector('.merge')).toBeNull();
    });
});
