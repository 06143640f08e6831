import { LightningElement, api, wire } from 'lwc';
import { gql, graphql } from 'lightning/graphql';
import TEMPLATE_LABEL from '@salesforce/label/c.SB_Template_Label';
import TEMPLATE_NONE from '@salesforce/label/c.SB_Template_None';
import LANGUAGE_LABEL from '@salesforce/label/c.SB_Language_Label';
import LANGUAGE_DEFAULT from '@salesforce/label/c.SB_Language_Default';
import { nodes } from 'c/switchboardUtils';

const NONE = '';
const DEFAULT_LANGUAGE = '';

// Picks a Message_Template__c of this object and, when it has translations,
// a language. Fires `select` with { templateId, language, text }: the text
// still holds its merge fields ({!Contact.FirstName}), which the sidecar
// fills when it sends (SPEC §3); the composer shows a merged preview.
export default class SwitchboardTemplatePicker extends LightningElement {
    @api objectApiName;

    labels = { template: TEMPLATE_LABEL, language: LANGUAGE_LABEL };
    templates = [];
    templateId = NONE;
    language = DEFAULT_LANGUAGE;
    errors;

    @wire(graphql, {
        query: gql`
            query switchboardTemplates($objectApiName: String) {
                uiapi {
                    query {
                        Message_Template__c(
                            where: { SObject_API_Name__c: { eq: $objectApiName } }
                            first: 200
                            orderBy: { Name: { order: ASC } }
                        ) {
                            edges {
                                node {
                                    Id
                                    Name {
                                        value
                                    }
                                    Message_Text__c {
                                        value
                                    }
                                    Translations__r(first: 50, orderBy: { Language__c: { order: ASC } }) {
                                        edges {
                                            node {
                                                Id
                                                Language__c {
                                                    value
                                                }
                                                Text_Body__c {
                                                    value
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        `,
        variables: '$variables'
    })
    wiredTemplates({ data, errors }) {
        this.errors = errors;
        if (!data) return;
        this.templates = nodes(data.uiapi.query.Message_Template__c).map((t) => ({
            id: t.Id,
            name: t.Name,
            text: t.Message_Text__c || '',
            translations: nodes(t.Translations__r).map((x) => ({ language: x.Language__c, text: x.Text_Body__c || '' }))
        }));
    }

    get variables() {
        return { objectApiName: this.objectApiName };
    }

    get hasTemplates() {
        return this.templates.length > 0;
    }

    get templateOptions() {
        return [{ label: TEMPLATE_NONE, value: NONE }, ...this.templates.map((t) => ({ label: t.name, value: t.id }))];
    }

    get chosenTemplate() {
        return this.templates.find((t) => t.id === this.templateId);
    }

    get hasLanguages() {
        return !!this.chosenTemplate && this.chosenTemplate.translations.length > 0;
    }

    get languageOptions() {
        return [
            { label: LANGUAGE_DEFAULT, value: DEFAULT_LANGUAGE },
            ...this.chosenTemplate.translations.map((t) => ({ label: languageName(t.language), value: t.language }))
        ];
    }

    handleTemplate(event) {
        event.stopPropagation();
        this.templateId = event.detail.value;
        this.language = DEFAULT_LANGUAGE;
        this.fire();
    }

    handleLanguage(event) {
        event.stopPropagation();
        this.language = event.detail.value;
        this.fire();
    }

    fire() {
        const t = this.chosenTemplate;
        let text = '';
        if (t) {
            const translation = t.translations.find((x) => x.language === this.language);
            text = translation ? translation.text : t.text;
        }
        this.dispatchEvent(
            new CustomEvent('select', {
                detail: { templateId: t ? t.id : null, language: t ? this.language || null : null, text }
            })
        );
    }
}

function languageName(code) {
    try {
        const name = new Intl.DisplayNames(undefined, { type: 'language' }).of(code);
        return name && name !== code ? `${name} (${code})` : code;
    } catch {
        return code;
    }
}
