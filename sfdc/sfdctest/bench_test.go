package sfdctest_test

import (
	"net/http"
	"strings"
	"testing"
)

// BenchmarkTenThousandTasks creates 10,000 Tasks through sObject
// Collections and reads them back 200 Ids at a time, the benchmark's shape.
func BenchmarkTenThousandTasks(b *testing.B) {
	for range b.N {
		a := newAPI(b)
		var ids []string
		for range 50 {
			recs := make([]map[string]any, 200)
			for i := range recs {
				recs[i] = map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": "bench", "Message_Type__c": "Outbound", "Message_Status__c": "Pending"}
			}
			var res []item
			a.do(http.MethodPost, v+"/composite/sobjects", map[string]any{"records": recs}).json(b, &res)
			for _, r := range res {
				ids = append(ids, r.ID)
			}
		}
		for i := 0; i < len(ids); i += 200 {
			in := "('" + strings.Join(ids[i:i+200], "','") + "')"
			if n := len(a.records("SELECT Id, Message_Status__c, Conversation__r.Channel__r.Channel_Type__r.Max_Message_Length__c FROM Task WHERE Id IN " + in)); n != 200 {
				b.Fatalf("%d records", n)
			}
		}
		if n := len(a.records("SELECT Id FROM Task WHERE Message_Status__c = 'Pending'")); n != 2000 {
			b.Fatalf("first page %d", n)
		}
	}
}
