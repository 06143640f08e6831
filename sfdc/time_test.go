package sfdc

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"2024-01-02T03:04:05.000+0000", "2024-01-02T04:04:05.000+0100", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000Z"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if d, err := ParseTime("2024-01-31"); err != nil || !d.Equal(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date: %v, %v", d, err)
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01T00:00:00.000+0000", "1700000000"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

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
