import { LightningElement } from 'lwc';
import LOADING from '@salesforce/label/c.SB_Loading';

// The loading state of the chat, its thread and the inbox's list: a small
// spinner in a padded box of its own, so it covers nothing else.
export default class SwitchboardLoading extends LightningElement {
    label = LOADING;
}
