import { LightningElement } from 'lwc';
import TITLE from '@salesforce/label/c.SB_Admin_Title';
import STATUS from '@salesforce/label/c.SB_Admin_Tab_Status';
import CHANNELS from '@salesforce/label/c.SB_Admin_Tab_Channels';
import EXTERNAL_CHANNELS from '@salesforce/label/c.SB_Admin_External_Channels';
import TEMPLATES from '@salesforce/label/c.SB_Admin_Tab_Templates';

// Composes the sections; each one reads and writes its own records.
export default class SwitchboardAdmin extends LightningElement {
    labels = {
        title: TITLE,
        status: STATUS,
        channels: CHANNELS,
        externalChannels: EXTERNAL_CHANNELS,
        templates: TEMPLATES
    };
}
