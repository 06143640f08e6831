package sync

import (
	"maps"
	"reflect"
	"testing"
)

// TestMergeUpdates: the later value of each field wins, but not a status
// that would move the record backwards or sideways (SPEC §1's order).
func TestMergeUpdates(t *testing.T) {
	for _, c := range []struct {
		name           string
		earlier, later Record
		want           Record
	}{
		{"fields merge, later wins",
			Record{"Id": "t", "Subject": "a", "Status": "Completed"},
			Record{"Id": "t", "Subject": "b", "Message_Sid__c": "SM1"},
			Record{"Id": "t", "Subject": "b", "Status": "Completed", "Message_Sid__c": "SM1"}},
		{"a later nil clears",
			Record{"Id": "t", "Error_Description__c": "x"},
			Record{"Id": "t", "Error_Description__c": nil},
			Record{"Id": "t", "Error_Description__c": nil}},
		{"higher later status wins",
			Record{"Id": "t", "Message_Status__c": "Sent"},
			Record{"Id": "t", "Message_Status__c": "Delivered"},
			Record{"Id": "t", "Message_Status__c": "Delivered"}},
		{"lower later status loses, its other fields win",
			Record{"Id": "t", "Message_Status__c": "Delivered", "Message_Sid__c": "SM1"},
			Record{"Id": "t", "Message_Status__c": string(StatusQueued), "Message_Status_Check_Date__c": "2026-12-03T10:00:00.000Z"},
			Record{"Id": "t", "Message_Status__c": "Delivered", "Message_Sid__c": "SM1", "Message_Status_Check_Date__c": "2026-12-03T10:00:00.000Z"}},
		{"terminal outcomes of equal rank: the first stays",
			Record{"Id": "t", "Message_Status__c": "Failed"},
			Record{"Id": "t", "Message_Status__c": "Delivered"},
			Record{"Id": "t", "Message_Status__c": "Failed"}},
		{"a status only in the later one",
			Record{"Id": "t", "Subject": "a"},
			Record{"Id": "t", "Message_Status__c": StatusSent},
			Record{"Id": "t", "Subject": "a", "Message_Status__c": StatusSent}},
		{"Error, decided by the sidecar, is not replaced by a ranked status",
			Record{"Id": "t", "Message_Status__c": "Error"},
			Record{"Id": "t", "Message_Status__c": "Sent"},
			Record{"Id": "t", "Message_Status__c": "Error"}},
	} {
		earlier, later := maps.Clone(c.earlier), maps.Clone(c.later)
		if got := MergeUpdates(c.earlier, c.later); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if !reflect.DeepEqual(earlier, c.earlier) || !reflect.DeepEqual(later, c.later) {
			t.Errorf("%s: MergeUpdates changed its arguments", c.name)
		}
	}
}
