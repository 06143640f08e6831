package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
