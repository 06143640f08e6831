// Jest for the Lightning Web Components (sfdx-lwc-jest), with @sa11y/jest's
// toBeAccessible() matcher registered for every test file.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    modulePathIgnorePatterns: ['<rootDir>/.localdevserver', '<rootDir>/build'],
    setupFilesAfterEnv: [...(jestConfig.setupFilesAfterEnv || []), '<rootDir>/jest/sa11y-setup.js'],
    testTimeout: 15000
};
