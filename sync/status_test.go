package sync

import "testing"

func TestAdvances(t *testing.T) {
	cases := []struct {
		cur, next Status
		want      bool
	}{
		{"", StatusQueued, true},
		{StatusPending, StatusQueued, true},
		{StatusQueued, StatusSent, true},
		{StatusSent, StatusDelivered, true},
		{StatusDelivered, StatusSent, false},        // delivered before sent → stays Delivered
		{StatusDelivered, StatusUndelivered, false}, // equal rank never flips
		{StatusDelivered, StatusRead, true},
		{StatusRead, StatusDelivered, false},
		{StatusSent, StatusSent, false}, // a duplicate callback is no change
		{StatusError, StatusSent, false},
		{StatusCanceled, StatusDelivered, false},
		{StatusQueued, StatusError, false}, // Error is set by the sidecar, not by rank
		{StatusQueued, "Bogus", false},
		{StatusDraft, StatusSent, false},    // a Draft is never written by the sidecar (SPEC §1a)
		{StatusPending, StatusDraft, false}, // nor ranked
	}
	for _, c := range cases {
		if got := Advances(c.cur, c.next); got != c.want {
			t.Errorf("Advances(%q, %q) = %v, want %v", c.cur, c.next, got, c.want)
		}
	}
}

func TestFromTwilio(t *testing.T) {
	want := map[string]Status{
		"accepted": StatusQueued, "scheduled": StatusQueued, "queued": StatusQueued,
		"sending": StatusSending, "sent": StatusSent, "delivered": StatusDelivered,
		"partially_delivered": StatusDelivered, "undelivered": StatusUndelivered,
		"failed": StatusFailed, "read": StatusRead, "received": StatusReceived,
		"receiving": StatusReceived, "canceled": StatusCanceled,
	}
	for in, w := range want {
		got, err := FromTwilio(in)
		if err != nil || got != w {
			t.Errorf("FromTwilio(%q) = %q, %v; want %q", in, got, err, w)
		}
		if !got.Valid() {
			t.Errorf("%q maps to invalid %q", in, got)
		}
	}
	if _, err := FromTwilio("Delivered"); err == nil {
		t.Error("statuses are lower-case on the wire; a capitalised one is an error")
	}
}

func TestFinal(t *testing.T) {
	for _, s := range []Status{StatusPending, StatusQueued, StatusSending, StatusSent} {
		if s.Final() {
			t.Errorf("%s should not be final", s)
		}
	}
	for _, s := range []Status{StatusDelivered, StatusUndelivered, StatusFailed, StatusRead, StatusError, StatusCanceled, StatusReceived} {
		if !s.Final() {
			t.Errorf("%s should be final", s)
		}
	}
}
