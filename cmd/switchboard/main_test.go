package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func runCLI(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(t.TempDir()) // no stray .env or switchboard.yaml
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, &out, &errb, env(environ))
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, []string{}, "version")
	if code != 0 || !strings.HasPrefix(out, "switchboard ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	if code, _, errs := runCLI(t, []string{}, "frobnicate"); code != exitBadInput || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, []string{}, "version", "--nope"); code != exitBadInput || !strings.Contains(errs, "unknown flag") {
		t.Fatalf("unknown flag: %d %q", code, errs)
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := runCLI(t, []string{}, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"setup", "version", "SWITCHBOARD_", "--salesforce.client_id"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %q:\n%s", want, out)
		}
	}
}

// TestSetupBadConfig: each missing required key is named with its
// environment variable, and the exit code says "bad input".
func TestSetupBadConfig(t *testing.T) {
	code, _, errs := runCLI(t, []string{"SWITCHBOARD_SALESFORCE_AUTH_FLOW=password"}, "setup")
	if code != exitBadInput {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitBadInput, errs)
	}
	for _, env := range []string{
		"SWITCHBOARD_SALESFORCE_CLIENT_ID", "SWITCHBOARD_SALESFORCE_CLIENT_SECRET",
		"SWITCHBOARD_SALESFORCE_USERNAME", "SWITCHBOARD_SALESFORCE_PASSWORD",
	} {
		if !strings.Contains(errs, "(set "+env+")") {
			t.Errorf("stderr does not name %s:\n%s", env, errs)
		}
	}
	if strings.Contains(errs, "TWILIO") {
		t.Errorf("setup must not ask for Twilio settings:\n%s", errs)
	}
}

// TestSetupCommand runs `switchboard setup` as an admin would, against the
// simulated org: the first run creates the SPEC PushTopics and default
// External Channels, the second reports no change, and a missing field is
// named by API name with a non-zero exit.
func TestSetupCommand(t *testing.T) {
	org := sfdctest.Start(t)
	key := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(key, org.JWTPrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SWITCHBOARD_SALESFORCE_LOGIN_URL=" + org.URL(),
		"SWITCHBOARD_SALESFORCE_CLIENT_ID=" + sfdctest.DefaultClientID,
		"SWITCHBOARD_SALESFORCE_USERNAME=" + sfdctest.DefaultUsername,
		"SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE=" + key,
		"SWITCHBOARD_LOG_LEVEL=warn",
	}
	code, out, errs := runCLI(t, env, "setup")
	if code != exitOK {
		t.Fatalf("first setup: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"PushTopic SwitchboardTasks", "PushTopic SwitchboardConversations", "PushTopic SwitchboardChat",
		"External_Channel__c Contact.MobilePhone", "External_Channel__c Lead.Phone", "External_Channel__c Account.Phone"} {
		if !strings.Contains(out, want) {
			t.Errorf("first setup does not report %q:\n%s", want, out)
		}
	}
	if n := len(org.Records("PushTopic")); n != 3 {
		t.Errorf("%d PushTopics after setup", n)
	}
	code, out, _ = runCLI(t, env, "setup")
	if code != exitOK || !strings.HasPrefix(out, "no change") {
		t.Errorf("second setup: exit %d\n%s", code, out)
	}
	org.DropField("Task", "Message_Sid__c")
	code, out, errs = runCLI(t, env, "setup")
	if code != exitFailure || !strings.Contains(out, "Task.Message_Sid__c") || !strings.Contains(errs, "sf project deploy start") {
		t.Errorf("setup with a missing field: exit %d\n%s\n%s", code, out, errs)
	}
}
