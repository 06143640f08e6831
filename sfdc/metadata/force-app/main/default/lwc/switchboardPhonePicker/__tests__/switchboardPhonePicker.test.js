import { createElement } from 'lwc';
import SwitchboardPhonePicker from 'c/switchboardPhonePicker';

const OPTIONS = [
    { value: '+14155550100', label: 'Mobile · (415) 555-0100' },
    { value: '+16505550111', label: 'Business Phone · +1 650-555-0111' }
];

describe('c-switchboard-phone-picker', () => {
    afterEach(() => {
        while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    });

    it('offers the numbers and tells its parent which one was picked', async () => {
        const element = createElement('c-switchboard-phone-picker', { is: SwitchboardPhonePicker });
        element.options = OPTIONS;
        element.value = '+16505550111';
        document.body.appendChild(element);
        const change = jest.fn();
        element.addEventListener('change', change);
        await Promise.resolve();

        const combobox = element.shadowRoot.querySelector('lightning-combobox');
        expect(combobox.label).toBe('c.SB_Phone_Label');
        expect(combobox.options).toEqual(OPTIONS);
        expect(combobox.value).toBe('+16505550111');
        combobox.dispatchEvent(new CustomEvent('change', { detail: { value: '+14155550100' } }));
        expect(change).toHaveBeenCalledTimes(1);
        expect(change.mock.calls[0][0].detail).toEqual({ value: '+14155550100' });
        await expect(element).toBeAccessible();
    });
});
