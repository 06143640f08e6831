// The validation rules in objects/*/validationRules back the tab's rules for
// writes through the API. This reads each rule's REGEX() pattern from its
// XML and checks it accepts and rejects the same values as the JavaScript
// rule, so the two cannot drift apart.
import { ACCOUNT_SID, E164, EXTERNAL_CHANNEL_NAME, LANGUAGE, MESSAGING_SERVICE_SID } from 'c/switchboardAdminRules';

const fs = require('fs');
const path = require('path');

const objects = path.resolve(__dirname, '../../../objects');

function rule(object, name) {
    const xml = fs.readFileSync(path.join(objects, object, 'validationRules', `${name}.validationRule-meta.xml`), 'utf8');
    const formula = /<errorConditionFormula>([\s\S]*?)<\/errorConditionFormula>/.exec(xml)[1];
    const active = /<active>(true|false)<\/active>/.exec(xml)[1] === 'true';
    // A formula string literal escapes a backslash as \\ ; REGEX() must match
    // the whole value, hence the anchors.
    const literal = /REGEX\(\s*\w+\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)/.exec(formula)[1];
    return { active, regex: new RegExp(`^(?:${literal.replace(/\\\\/g, '\\')})$`), formula };
}

const samples = [
    '+14155550100', '+442071838750', '+12', '+123456789012345', '+1234567890123456', '+04155550100', '14155550100',
    '(415) 555-0100', '+1 415 555 0100', '+', '',
    'MG0123456789abcdef0123456789abcdef', 'MG0123456789ABCDEF0123456789ABCDEF', 'MG0123456789abcdef0123456789abcde',
    'AC0123456789abcdef0123456789abcdef', 'ACfedcba9876543210fedcba9876543210', 'AC0123456789abcdef0123456789abcdeg',
    'Contact_MobilePhone', 'Contact MobilePhone', '_Contact', '2Contact', 'Contact-Phone', 'a',
    'de', 'pt_BR', 'PT_br', 'deu', 'german', 'de_', 'de_b'
];

describe('validation rules agree with the tab', () => {
    it.each([
        ['Channel__c', 'Phone_Number_E164', E164],
        ['Channel__c', 'Messaging_Service_Sid_Format', MESSAGING_SERVICE_SID],
        ['Channel_Type__c', 'Account_Sid_Format', ACCOUNT_SID],
        ['External_Channel__c', 'Name_Is_Identifier', EXTERNAL_CHANNEL_NAME],
        ['Message_Template_Translation__c', 'Language_Format', LANGUAGE]
    ])('%s.%s', (object, name, jsRule) => {
        const { active, regex, formula } = rule(object, name);
        expect(active).toBe(true);
        // The rule fires (an error) when the value does not match.
        expect(formula).toMatch(/NOT\(REGEX\(/);
        samples.forEach((value) => {
            expect([value, regex.test(value)]).toEqual([value, jsRule.test(value)]);
        });
    });

    it('requires a sender on a Channel, as the tab does', () => {
        const xml = fs.readFileSync(path.join(objects, 'Channel__c', 'validationRules', 'Phone_Or_Messaging_Service.validationRule-meta.xml'), 'utf8');
        expect(xml).toContain('<errorConditionFormula>AND(ISBLANK(Phone_Number__c), ISBLANK(Messaging_Service_Sid__c))</errorConditionFormula>');
    });
});
