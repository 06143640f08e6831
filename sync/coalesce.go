package sync

import "maps"

// MergeUpdates combines two updates of one record that meet in one write,
// earlier then later, into one. Salesforce refuses an sObject Collections
// update that names a record twice ("Duplicate id in list", the whole
// request: sfdc/sfdctest's duplicateID), and two jobs may well record one
// Task in the same batch (a duplicate event and a sweep). Each field takes
// the later value, except Message_Status__c: which job wrote "later" is an
// accident of scheduling, so the status that the other one does not
// advance (Advances, SPEC §1's order) is kept — a status never moves
// backwards, not even within one request.
func MergeUpdates(earlier, later Record) Record {
	out := make(Record, len(earlier)+len(later))
	maps.Copy(out, earlier)
	maps.Copy(out, later)
	e, eok := recordStatus(earlier)
	l, lok := recordStatus(later)
	if eok && lok && !Advances(e, l) {
		out[statusField] = earlier[statusField]
	}
	return out
}

const statusField = "Message_Status__c"

func recordStatus(r Record) (Status, bool) {
	switch v := r[statusField].(type) {
	case string:
		return Status(v), true
	case Status:
		return v, true
	}
	return "", false
}
