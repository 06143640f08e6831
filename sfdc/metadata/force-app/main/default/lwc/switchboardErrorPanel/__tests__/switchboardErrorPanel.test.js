import { createElement } from 'lwc';
import SwitchboardErrorPanel from 'c/switchboardErrorPanel';

async function render(errors) {
    const element = createElement('c-switchboard-error-panel', { is: SwitchboardErrorPanel });
    element.errors = errors;
    document.body.appendChild(element);
    await Promise.resolve();
    return element;
}

const texts = (element) => [...element.shadowRoot.querySelectorAll('.sb-error')].map((n) => n.textContent);

describe('c-switchboard-error-panel', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    it('lists GraphQL errors as text, in an alert', async () => {
        const element = await render([
            { message: "Cannot query field 'Foo__c' on type 'Task'", locations: [{ line: 5, column: 9 }], path: ['uiapi'] },
            { message: 'Variable $first is not defined', locations: [], path: [] }
        ]);
        expect(texts(element)).toEqual(["Cannot query field 'Foo__c' on type 'Task'", 'Variable $first is not defined']);
        expect(element.shadowRoot.querySelector('[role="alert"]')).not.toBeNull();
        await expect(element).toBeAccessible();
    });

    it('reads a wire error with a UI API body', async () => {
        const element = await render({
            status: 403,
            statusText: 'Forbidden',
            body: [{ errorCode: 'INSUFFICIENT_ACCESS', message: "You don't have access to this record." }]
        });
        expect(texts(element)).toEqual(["You don't have access to this record."]);
    });

    it('still says something for an error without a message', async () => {
        const element = await render({});
        expect(texts(element)).toEqual(['c.SB_Unknown_Error']);
        await expect(element).toBeAccessible();
    });
});
