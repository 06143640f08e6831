package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
)

// TestDeadLettersCommand: a job that failed for good is listed with its
// error, replayed by id, and bad input gets a clear answer.
func TestDeadLettersCommand(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "switchboard.db")
	ctx := context.Background()
	st, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Handle(kindInbound, func(context.Context, store.Job) error {
		return &sbsync.PermanentError{Err: errors.New("MessageSid is missing")}
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, store.Job{Kind: kindInbound, Key: "SMbroken", Payload: []byte(`{}`), MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "a dead letter", func() bool {
		d, err := st.DeadLetters(ctx, "", 10)
		return err == nil && len(d) == 1
	})
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	env := []string{"SWITCHBOARD_STORE_URL=" + url, "SWITCHBOARD_LOG_LEVEL=error"}

	code, out, errs := runCLI(t, env, "dead-letters")
	if code != exitOK || !strings.Contains(out, "inbound") || !strings.Contains(out, "SMbroken") || !strings.Contains(out, "MessageSid is missing") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errs)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, out, _ := runCLI(t, env, "dead-letters", "--kind", "status"); code != exitOK || !strings.Contains(out, "no dead letters") {
		t.Errorf("--kind status: exit %d %q", code, out)
	}
	if code, _, errs := runCLI(t, env, "dead-letters", "replay"); code != exitBadInput || !strings.Contains(errs, "IDs, or --all") {
		t.Errorf("replay with nothing: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, env, "dead-letters", "replay", "x1"); code != exitBadInput || !strings.Contains(errs, `"x1" is not a dead letter ID`) {
		t.Errorf("replay x1: exit %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, env, "dead-letters", "replay", "999999"); code != exitFailure || !strings.Contains(out, "not a dead letter") {
		t.Errorf("replay 999999: exit %d %q", code, out)
	}
	if code, out, errs := runCLI(t, env, "dead-letters", "replay", id); code != exitOK || !strings.Contains(out, id+": back in the queue") {
		t.Fatalf("replay %s: exit %d %q %q", id, code, out, errs)
	}
	if code, out, _ := runCLI(t, env, "dead-letters"); code != exitOK || !strings.Contains(out, "no dead letters") {
		t.Errorf("after replay: exit %d %q", code, out)
	}
	if code, _, errs := runCLI(t, []string{"SWITCHBOARD_STORE_URL=mysql://x"}, "dead-letters"); code != exitBadInput || !strings.Contains(errs, "SWITCHBOARD_STORE_URL") {
		t.Errorf("bad store url: exit %d %q", code, errs)
	}
}
