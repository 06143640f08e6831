import { createElement } from 'lwc';
import SwitchboardLoading from 'c/switchboardLoading';

describe('c-switchboard-loading', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    it('shows a small spinner that says it is loading', async () => {
        const element = createElement('c-switchboard-loading', { is: SwitchboardLoading });
        document.body.appendChild(element);
        await Promise.resolve();
        const spinner = element.shadowRoot.querySelector('lightning-spinner');
        expect(spinner.alternativeText).toBe('c.SB_Loading');
        expect(spinner.size).toBe('small');
        await expect(element).toBeAccessible();
    });
});
