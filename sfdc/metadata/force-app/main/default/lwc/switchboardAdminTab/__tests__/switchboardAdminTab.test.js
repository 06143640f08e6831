import { deleteRecord } from 'lightning/uiRecordApi';
import LightningConfirm from 'lightning/confirm';
import { confirmAndDelete, pickValues, readQuery, refreshQuery, saveForm, writeRow } from 'c/switchboardAdminTab';

jest.mock('lightning/confirm', () => ({ __esModule: true, default: { open: jest.fn() } }));

const refused = { body: { message: 'Refused', output: { errors: [], fieldErrors: { Name: [{ message: 'Taken' }] } } } };

function tab() {
    const toasts = [];
    return { form: { heading: 'New', errors: {} }, saving: false, toasts, toast: (variant, message) => toasts.push([variant, message]) };
}

describe('c/switchboardAdminTab', () => {
    it('reads a query result: its refresh, its errors, its data', async () => {
        const host = {};
        const refresh = jest.fn(() => Promise.resolve());
        expect(readQuery(host, { refresh })).toBeUndefined();
        expect(readQuery(host, { refresh, errors: [{ message: 'No access' }] })).toBeUndefined();
        expect(host.loadError).toBe('No access');
        expect(readQuery(host, { refresh, data: { uiapi: { query: { A: 1 } } } })).toEqual({ A: 1 });
        expect(host.loadError).toBeUndefined();
        await refreshQuery(host);
        expect(refresh).toHaveBeenCalledTimes(1);
        await expect(refreshQuery({})).resolves.toBeUndefined();
    });

    it('picks the named values', () => {
        expect(pickValues({ Name: 'a', Other: 'b' }, ['Name', 'Missing'])).toEqual({ Name: 'a', Missing: undefined });
    });

    it('writes nothing while the rules find errors', async () => {
        const host = tab();
        const write = jest.fn();
        await saveForm(host, { values: { Name: '' }, errors: { Name: 'Required' }, write, savedName: '', afterSave: jest.fn() });
        expect(write).not.toHaveBeenCalled();
        expect(host.form.errors).toEqual({ Name: 'Required' });
        expect(host.form.values).toEqual({ Name: '' });
        expect(host.toasts).toEqual([['error', 'c.SB_Admin_Not_Saved']]);
    });

    it('writes, closes the form, then refreshes', async () => {
        const host = tab();
        const order = [];
        await saveForm(host, {
            values: { Name: 'A' },
            errors: {},
            write: async () => order.push(`write saving=${host.saving}`),
            savedName: 'A',
            afterSave: async () => order.push(`after form=${host.form}`)
        });
        expect(order).toEqual(['write saving=true', 'after form=undefined']);
        expect(host.saving).toBe(false);
        expect(host.toasts).toEqual([['success', 'c.SB_Admin_Saved']]);
    });

    it("keeps the form open with Salesforce's reasons by field", async () => {
        const host = tab();
        const afterSave = jest.fn();
        await saveForm(host, { values: { Name: 'A' }, errors: {}, write: () => Promise.reject(refused), savedName: 'A', afterSave });
        expect(afterSave).not.toHaveBeenCalled();
        expect(host.form).toEqual({ heading: 'New', values: { Name: 'A' }, errors: { Name: 'Taken' } });
        expect(host.saving).toBe(false);
        expect(host.toasts).toEqual([['error', 'Taken']]);
    });

    it('reports a row write, or why Salesforce refused it', async () => {
        const host = tab();
        const afterWrite = jest.fn();
        await writeRow(host, { write: () => Promise.resolve(), doneMessage: 'Done', afterWrite });
        await writeRow(host, { write: () => Promise.reject({ body: { message: 'No access' } }), doneMessage: 'Done', afterWrite });
        expect(afterWrite).toHaveBeenCalledTimes(1);
        expect(host.toasts).toEqual([
            ['success', 'Done'],
            ['error', 'No access']
        ]);
    });

    it('deletes only what the admin confirms', async () => {
        const host = tab();
        const afterDelete = jest.fn();
        LightningConfirm.open.mockResolvedValueOnce(false);
        await confirmAndDelete(host, { recordId: 'a01', name: 'Old', confirmMessage: 'Delete Old?', afterDelete });
        expect(deleteRecord).not.toHaveBeenCalled();
        LightningConfirm.open.mockResolvedValueOnce(true);
        deleteRecord.mockResolvedValueOnce(undefined);
        await confirmAndDelete(host, { recordId: 'a01', name: 'Old', confirmMessage: 'Delete Old?', afterDelete });
        expect(LightningConfirm.open).toHaveBeenLastCalledWith({ message: 'Delete Old?', variant: 'header', label: 'c.SB_Admin_Delete', theme: 'warning' });
        expect(deleteRecord).toHaveBeenCalledWith('a01');
        expect(afterDelete).toHaveBeenCalledTimes(1);
        expect(host.toasts).toEqual([['success', 'c.SB_Admin_Deleted']]);
    });
});
