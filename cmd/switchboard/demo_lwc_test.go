package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDemoServesTheLWCBundleAndTheOrg: demo --serve hands out the embedded
// browser bundle under /lwc/ and, same-origin, the simulated org's UI API
// and CometD for its platform stand-ins — but not the OAuth endpoint.
func TestDemoServesTheLWCBundleAndTheOrg(t *testing.T) {
	base := servedDemo(t, false)
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, p := range []string{"/lwc/switchboard-lwc.js", "/lwc/slds/styles/salesforce-lightning-design-system.min.css"} {
		if st, b := get(p); st != 200 || len(b) < 10000 {
			t.Fatalf("%s: %d, %d bytes", p, st, len(b))
		}
	}
	st, b := get("/services/data/v62.0/ui-api/object-info/Conversation__c")
	var info struct {
		APIName string `json:"apiName"`
	}
	if err := json.Unmarshal(b, &info); st != 200 || err != nil || info.APIName != "Conversation__c" {
		t.Fatalf("object-info through the demo: %d %s", st, b)
	}
	resp, err := http.Post(base+"/services/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("the demo page must not hand out OAuth tokens")
	}
}
