package sfdctest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// recordingTB is a sfdctest.TB that records Fatalf instead of stopping.
type recordingTB struct {
	fatal    []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(f string, args ...any) {
	r.fatal = append(r.fatal, fmt.Sprintf(f, args...))
}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func TestEventually(t *testing.T) {
	var r recordingTB
	n := 0
	sfdctest.Eventually(&r, time.Second, "three polls", func() bool { n++; return n == 3 })
	if len(r.fatal) != 0 || n != 3 {
		t.Errorf("a condition that comes true: fatal %q after %d polls", r.fatal, n)
	}
	start := time.Now()
	sfdctest.Eventually(&r, 50*time.Millisecond, "never", func() bool { return false })
	if len(r.fatal) != 1 || r.fatal[0] != "timed out after 50ms waiting for never" {
		t.Errorf("a condition that never holds: fatal %q", r.fatal)
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want just over the 50ms limit", d)
	}
}

func TestStartClosesTheOrgAtCleanup(t *testing.T) {
	var r recordingTB
	org := sfdctest.Start(&r)
	if len(r.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(r.cleanups))
	}
	if _, err := org.Insert("Contact", map[string]any{"LastName": "Up"}); err != nil {
		t.Fatal(err)
	}
	r.cleanups[0]()
	if resp, err := httpc.Get(org.URL() + "/services/data/"); err == nil {
		resp.Body.Close()
		t.Errorf("org still answers after cleanup: HTTP %d", resp.StatusCode)
	} else if !strings.Contains(err.Error(), "refused") {
		t.Logf("after cleanup: %v", err)
	}
}
