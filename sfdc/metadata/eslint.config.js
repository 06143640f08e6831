// ESLint for the Lightning Web Components: Salesforce's recommended LWC rules
// for component code, plus jest's globals and rules for the tests beside it.
const lwcConfig = require('@salesforce/eslint-config-lwc');
const jestPlugin = require('eslint-plugin-jest');
const globals = require('globals');

module.exports = [
    { ignores: ['node_modules/**', 'build/**', 'dist/**', 'browser/dist/**', 'browser/testdata/**'] },
    // The browser build's platform stand-ins and test-only fixtures are
    // component code too.
    ...lwcConfig.configs.recommended.map((c) => ({
        ...c,
        files: ['force-app/main/default/lwc/**/*.js', 'browser/modules/**/*.js', 'browser/fixtures/**/*.js']
    })),
    {
        files: ['force-app/main/default/lwc/**/__tests__/**/*.js', 'force-app/main/default/lwc/**/__mocks__/**/*.js', 'jest/**/*.js'],
        plugins: { jest: jestPlugin },
        languageOptions: { globals: { ...globals.node, ...globals.jest } },
        rules: {
            ...jestPlugin.configs['flat/recommended'].rules,
            // Tests drive wire adapters by hand (getRecord.emit(…)), as
            // sfdx-lwc-jest intends.
            '@lwc/lwc/no-unexpected-wire-adapter-usages': 'off'
        }
    },
    {
        files: ['*.js', 'scripts/**/*.js', 'jest/**/*.js'],
        languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } }
    }
];
