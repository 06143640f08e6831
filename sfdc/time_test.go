package sfdc

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSON(t *testing.T) {
	var rec struct {
		Sent    Time `json:"Message_Send_Date__c"`
		Checked Time `json:"Message_Status_Check_Date__c"`
	}
	if err := json.Unmarshal([]byte(`{"Message_Send_Date__c":"2013-05-20T20:49:32.000+0000","Message_Status_Check_Date__c":null}`), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Sent.Equal(time.Date(2013, 5, 20, 20, 49, 32, 0, time.UTC)) || !rec.Checked.IsZero() {
		t.Fatalf("decoded %+v", rec)
	}
	out, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Message_Send_Date__c":"2013-05-20T20:49:32.000Z","Message_Status_Check_Date__c":null}`; string(out) != want {
		t.Fatalf("encoded %s, want %s", out, want)
	}
	for _, bad := range []string{`{"Message_Send_Date__c":12}`, `{"Message_Send_Date__c":"soon"}`} {
		if err := json.Unmarshal([]byte(bad), &rec); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
