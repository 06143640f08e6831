import { format, toE164, reduceErrors, nodes, recipientE164, phoneFieldOptions, refreshWire, objectInfosByName, errorToast } from 'c/switchboardUtils';

const contactObjectInfo = require('../../switchboardChat/__tests__/data/contactObjectInfo.json');

describe('c-switchboard-utils', () => {
    it('fills label placeholders', () => {
        expect(format('{0} · {1}', 'Mobile', '(415) 555-0100')).toBe('Mobile · (415) 555-0100');
        expect(format('{0} and {1}', 'one')).toBe('one and ');
    });

    // The spellings SPEC §1 says are one number.
    it.each([
        ['+14155550100'],
        ['(415) 555-0100'],
        ['415-555-0100'],
        ['415.555.0100'],
        ['+1 415 555 0100'],
        ['4155550100'],
        ['1 (415) 555-0100']
    ])('reads %s as +14155550100', (raw) => {
        expect(toE164(raw)).toBe('+14155550100');
    });

    it('keeps international numbers that carry their country code', () => {
        expect(toE164('+49 30 1234567')).toBe('+49301234567');
        expect(toE164('0049 30 1234567')).toBe('+49301234567');
    });

    it.each([[''], [null], ['555-0100'], ['call me'], ['+0123'], ['030 1234567']])('rejects %p', (raw) => {
        expect(toE164(raw)).toBeNull();
    });

    it('reads UI API record errors, GraphQL errors and plain errors', () => {
        const recordError = {
            body: {
                message: 'An error occurred while trying to update the record. Please try again.',
                output: {
                    errors: [],
                    fieldErrors: {
                        Message_Status__c: [
                            { errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', message: 'Message Status: bad value for restricted picklist field: Pendng' }
                        ]
                    }
                }
            }
        };
        expect(reduceErrors(recordError)).toEqual(['Message Status: bad value for restricted picklist field: Pendng']);
        expect(reduceErrors([{ message: 'Field Foo__c is not available' }, 'plain'])).toEqual(['Field Foo__c is not available', 'plain']);
        expect(reduceErrors({ body: [{ message: 'a' }, { message: 'a' }] })).toEqual(['a']);
        expect(reduceErrors(undefined)).toEqual(['c.SB_Unknown_Error']);
    });

    it('flattens GraphQL nodes', () => {
        const conn = {
            edges: [{ node: { Id: '1', Name: { value: 'N' }, Status__c: { value: 'Open', displayValue: 'Open' }, Channel_Type__r: { Provider__c: { value: 'Twilio SMS' } } } }]
        };
        expect(nodes(conn)).toEqual([{ Id: '1', Name: 'N', Status__c: 'Open', Status__cDisplay: 'Open', Channel_Type__r: { Provider__c: 'Twilio SMS' } }]);
        expect(nodes(undefined)).toEqual([]);
        const parent = { edges: [{ node: { Id: 't', Translations__r: { edges: [{ node: { Id: 'x', Language__c: { value: 'de' } } }] } } }] };
        expect(nodes(nodes(parent)[0].Translations__r)).toEqual([{ Id: 'x', Language__c: 'de' }]);
    });

    // WhatsApp conversations carry "whatsapp:" (twilio ref §10.1).
    it('reads a conversation number with or without its WhatsApp prefix', () => {
        expect(recipientE164({ Message_Recipient__c: 'whatsapp:+447700900123' })).toBe('+447700900123');
        expect(recipientE164({ Message_Recipient__c: 'WhatsApp:+447700900123' })).toBe('+447700900123');
        expect(recipientE164({ Message_Recipient__c: '+14155550142' })).toBe('+14155550142');
        expect(recipientE164({ Message_Recipient__c: null })).toBeNull();
        expect(recipientE164(undefined)).toBeNull();
    });

    it('offers the writable phone fields of an object, by label', () => {
        const info = JSON.parse(JSON.stringify(contactObjectInfo));
        info.fields.OtherPhone = { apiName: 'OtherPhone', dataType: 'Phone', label: 'Other Phone', updateable: false };
        expect(phoneFieldOptions(info)).toEqual([
            { label: 'Business Phone', value: 'Phone' },
            { label: 'Mobile', value: 'MobilePhone' }
        ]);
        expect(phoneFieldOptions(undefined)).toEqual([]);
    });

    it('reads a wire again once it has answered, and not before', () => {
        const refresh = jest.fn(() => Promise.resolve());
        expect(refreshWire(undefined)).toBeUndefined();
        expect(refreshWire({ data: {} })).toBeUndefined();
        refreshWire({ data: {}, refresh });
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    it('keys the object infos the user may read by API name', () => {
        const data = {
            results: [
                { statusCode: 200, result: { apiName: 'Contact', label: 'Contact' } },
                { statusCode: 403, result: [{ errorCode: 'INSUFFICIENT_ACCESS' }] }
            ]
        };
        expect(objectInfosByName(data)).toEqual({ Contact: { apiName: 'Contact', label: 'Contact' } });
        expect(objectInfosByName(undefined)).toEqual({});
    });

    it('toasts what failed with the org\'s reasons', () => {
        const event = errorToast('Close failed', { body: { message: 'Insufficient access' } });
        expect(event.detail).toEqual(expect.objectContaining({ title: 'Close failed', message: 'Insufficient access', variant: 'error' }));
    });
});
