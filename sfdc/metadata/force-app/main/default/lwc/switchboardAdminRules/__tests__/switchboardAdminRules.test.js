import {
    errorMessage,
    format,
    isStale,
    mergeParts,
    mergeProblem,
    missingDefaults,
    parseChecks,
    recordFields,
    validateChannel,
    validateChannelType,
    validateExternalChannel,
    validateTranslation
} from 'c/switchboardAdminRules';

const contactInfo = {
    apiName: 'Contact',
    fields: {
        FirstName: { apiName: 'FirstName', label: 'First Name', dataType: 'String' },
        MobilePhone: { apiName: 'MobilePhone', label: 'Mobile Phone', dataType: 'Phone' }
    }
};

describe('switchboardAdminRules', () => {
    it.each([
        ['+14155550100', undefined],
        ['+442071838750', undefined],
        ['+12', undefined],
        ['+1234567890123456', 'c.SB_Admin_Error_E164'], // 16 digits: E.164 allows 15
        ['+04155550100', 'c.SB_Admin_Error_E164'], // no country code starts with 0
        ['14155550100', 'c.SB_Admin_Error_E164'],
        ['(415) 555-0100', 'c.SB_Admin_Error_E164'],
        ['+1 415 555 0100', 'c.SB_Admin_Error_E164'],
        ['+1', 'c.SB_Admin_Error_E164']
    ])('Channel phone %s → %s', (phone, message) => {
        expect(validateChannel({ Name: 'x', Channel_Type__c: 'a01', Phone_Number__c: phone }).Phone_Number__c).toBe(message);
    });

    it.each([
        ['MG0123456789abcdef0123456789abcdef', undefined],
        ['MG0123456789ABCDEF0123456789ABCDEF', 'c.SB_Admin_Error_Messaging_Service_Sid'], // Twilio SIDs are lowercase hex
        ['MG0123456789abcdef0123456789abcde', 'c.SB_Admin_Error_Messaging_Service_Sid'],
        ['PN0123456789abcdef0123456789abcdef', 'c.SB_Admin_Error_Messaging_Service_Sid']
    ])('Messaging Service SID %s → %s', (sid, message) => {
        expect(validateChannel({ Name: 'x', Channel_Type__c: 'a01', Messaging_Service_Sid__c: sid }).Messaging_Service_Sid__c).toBe(message);
    });

    it('needs a sender, a name and a type on a Channel', () => {
        expect(validateChannel({ Name: ' ', Phone_Number__c: '', Messaging_Service_Sid__c: null })).toEqual({
            Name: 'c.SB_Admin_Error_Required',
            Channel_Type__c: 'c.SB_Admin_Error_Required',
            Phone_Number__c: 'c.SB_Admin_Error_Sender_Required'
        });
    });

    it.each([
        [{ Name: 'US', Account_Sid__c: 'AC0123456789abcdef0123456789abcdef', Max_Message_Length__c: '1600' }, {}],
        [{ Name: 'US', Account_Sid__c: 'SK0123456789abcdef0123456789abcdef' }, { Account_Sid__c: 'c.SB_Admin_Error_Account_Sid' }],
        [{ Name: 'US', Max_Message_Length__c: '0' }, { Max_Message_Length__c: 'c.SB_Admin_Error_Max_Length' }],
        [{ Name: 'US', Max_Message_Length__c: '160.5' }, { Max_Message_Length__c: 'c.SB_Admin_Error_Max_Length' }],
        [{ Name: '' }, { Name: 'c.SB_Admin_Error_Required' }]
    ])('Channel Type %j → %j', (values, errors) => {
        expect(validateChannelType(values)).toEqual(errors);
    });

    it.each([
        ['Contact_MobilePhone', undefined],
        ['Patient2_Mobile', undefined],
        ['Contact MobilePhone', 'c.SB_Admin_Error_External_Channel_Name'],
        ['_Contact', 'c.SB_Admin_Error_External_Channel_Name'],
        ['2Contact', 'c.SB_Admin_Error_External_Channel_Name'],
        ['Contact-Phone', 'c.SB_Admin_Error_External_Channel_Name'],
        ['', 'c.SB_Admin_Error_Required']
    ])('External Channel Name %s → %s', (name, message) => {
        expect(validateExternalChannel({ Name: name, Object_API_Name__c: 'Contact', Field_API_Name__c: 'Phone' }).Name).toBe(message);
    });

    it.each([
        ['de', [], undefined],
        ['pt_BR', [], undefined],
        ['PT_br', [], 'c.SB_Admin_Error_Language'],
        ['german', [], 'c.SB_Admin_Error_Language'],
        ['de', ['de'], 'c.SB_Admin_Error_Duplicate_Language']
    ])('translation language %s (taken %j) → %s', (language, taken, message) => {
        expect(validateTranslation({ Language__c: language, Text_Body__c: 'Hallo' }, contactInfo, taken).Language__c).toBe(message);
    });

    it('reads merge fields the way the sidecar does', () => {
        expect(mergeParts('Hi {!Contact.FirstName}, {! contact.mobilephone } and {!Contact.Account.Name}.', contactInfo)).toEqual([
            { text: 'Hi ' },
            { text: '{!Contact.FirstName}', merge: true, label: 'First Name' },
            { text: ', ' },
            { text: '{! contact.mobilephone }', merge: true, label: 'Mobile Phone' },
            { text: ' and ' },
            // a lookup path cannot be checked against one object's info
            { text: '{!Contact.Account.Name}', merge: true },
            { text: '.' }
        ]);
        expect(mergeProblem('Hi {!Contact.FirstName}', contactInfo)).toBe('');
        expect(mergeProblem('Hi {!Contact.Nickname}', contactInfo)).toBe('c.SB_Admin_Error_Merge_Unknown_Field');
        expect(mergeProblem('Hi {!FirstName}', contactInfo)).toBe('c.SB_Admin_Error_Merge_Syntax');
        expect(mergeProblem('Hi {!Contact.FirstName', contactInfo)).toBe('c.SB_Admin_Error_Merge_Syntax');
        // Without object info only the syntax is checked.
        expect(mergeProblem('Hi {!Contact.Nickname}', undefined)).toBe('');
    });

    it('is stale only after more than three intervals, and when it cannot tell', () => {
        const at = '2026-12-03T13:00:00.000Z';
        expect(isStale(at, 60, Date.parse('2026-12-03T13:03:00.000Z'))).toBe(false);
        expect(isStale(at, 60, Date.parse('2026-12-03T13:03:00.001Z'))).toBe(true);
        expect(isStale(null, 60, Date.parse(at))).toBe(true);
        expect(isStale(at, null, Date.parse(at))).toBe(true);
    });

    it('splits Checks__c into passing and failing lines', () => {
        expect(parseChecks('✓ login ok\r\n✗ stream: run setup\n\n  ✓ twilio ok  ')).toEqual([
            { ok: true, text: 'login ok' },
            { ok: false, text: 'stream: run setup' },
            { ok: true, text: 'twilio ok' }
        ]);
        expect(parseChecks(null)).toEqual([]);
    });

    it('finds the missing defaults whatever else exists', () => {
        expect(
            missingDefaults([
                { Object_API_Name__c: 'Contact', Field_API_Name__c: 'Phone' },
                { Object_API_Name__c: 'Patient__c', Field_API_Name__c: 'Mobile__c' }
            ])
        ).toEqual([
            { object: 'Contact', field: 'MobilePhone' },
            { object: 'Lead', field: 'MobilePhone' },
            { object: 'Lead', field: 'Phone' },
            { object: 'Account', field: 'Phone' }
        ]);
    });

    it('turns form values into record fields', () => {
        expect(recordFields({ Name: ' A ', Queue_Name__c: '', Max_Message_Length__c: '160', Active__c: false }, { numbers: ['Max_Message_Length__c'] })).toEqual({
            Name: 'A',
            Queue_Name__c: null,
            Max_Message_Length__c: 160,
            Active__c: false
        });
        expect(recordFields({ Name: 'A', Queue_Name__c: '', Phone_Number__c: undefined }, { create: true })).toEqual({ Name: 'A' });
    });

    it('says what the org said, whatever the error shape', () => {
        expect(errorMessage({ body: { message: 'Insufficient access' } })).toBe('Insufficient access');
        expect(
            errorMessage({
                body: {
                    message: 'An error occurred while trying to update the record. Please try again.',
                    output: { errors: [{ errorCode: 'DUPLICATE_VALUE', message: 'duplicate value found' }], fieldErrors: {} }
                }
            })
        ).toBe('duplicate value found');
        expect(errorMessage([{ message: 'Field X not found' }, { message: 'Field X not found' }])).toBe('Field X not found');
        expect(errorMessage(undefined)).toBe('c.SB_Admin_Error_Unknown');
    });

    it('says every error of a list, not only the first', () => {
        expect(errorMessage([{ message: 'Field X not found' }, { message: 'Field Y not found' }])).toBe(
            'Field X not found Field Y not found'
        );
    });

    it('fills a label with names as typed, "$" and all', () => {
        expect(format('{0} saved', 'Price $& Co')).toBe('Price $& Co saved');
        expect(format('{0} of {1}', 'Welcome')).toBe('Welcome of ');
    });
});
