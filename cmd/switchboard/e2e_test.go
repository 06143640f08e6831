package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/sync/store"
)

// daemon is a Main running in-process against a simWorld.
type daemon struct {
	m         *Main
	publicURL string
	cancel    context.CancelFunc
	done      chan error
}

// e2eTuning keeps the end-to-end tests quick: a short job timeout (a dead
// replica's jobs are taken over after it and the store's 3 s liveness
// window), and frequent background passes. River's own rescuer keeps its
// default (a minute at least): it does not ask whether a job's worker is
// alive, and at 4 s it re-ran live jobs whose completion waited under load.
//
// Under the race detector everything runs about ten times slower, and a
// 3 s job timeout is then too short for a burst: most of 1,000 jobs time
// out together, retry within a second, and time out again, so a run that
// takes 25 s can take minutes (a CI failure). The timeouts grow with the
// slowdown and the retry cap with them, as production's backoff (up to
// 10 minutes) spreads out a herd of failing jobs.
func e2eTuning() tuning {
	st := store.Options{JobTimeout: 3 * time.Second, RetryBase: 100 * time.Millisecond, RetryMax: time.Second}
	if raceDetector {
		st.JobTimeout, st.RetryMax = 6*time.Second, 5*time.Second
	}
	return tuning{
		Store:          st,
		PollInterval:   time.Second,
		StreamRetryMin: 50 * time.Millisecond,
		OutageRetry:    200 * time.Millisecond,
	}
}

func newWorld(t testing.TB, opts simOptions) *simWorld {
	t.Helper()
	w, err := newSimWorld(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// startDaemon runs the real daemon on storeURL (a fresh SQLite file when
// empty) and stops it when the test ends.
func startDaemon(t testing.TB, w *simWorld, storeURL string, tun tuning, extraEnv ...string) *daemon {
	t.Helper()
	return startDaemonLog(t, w, storeURL, tun, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), extraEnv...)
}

// startDaemonLog is startDaemon with the daemon's logger.
func startDaemonLog(t testing.TB, w *simWorld, storeURL string, tun tuning, log *zap.Logger, extraEnv ...string) *daemon {
	t.Helper()
	if storeURL == "" {
		storeURL = "sqlite://" + filepath.Join(t.TempDir(), "switchboard.db")
	}
	ln, publicURL, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadSimConfig(append(w.environ(publicURL, storeURL), extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	tun.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{m: NewMain(cfg, log, tun), publicURL: publicURL, cancel: cancel, done: make(chan error, 1)}
	w.Twilio.SetInboundURL(publicURL + "/twilio/inbound")
	go func() { d.done <- d.m.Run(ctx) }()
	t.Cleanup(func() { d.stop(t) })
	sfdctest.Eventually(t, 20*time.Second, "the daemon's stream to subscribe", func() bool {
		return d.m.Subscribed()
	})
	return d
}

func (d *daemon) stop(t testing.TB) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("daemon did not stop within 30 s")
	}
}

// newConversation creates an open thread with customer on the world's
// channel, as the LWC chat does before its first message.
func (w *simWorld) newConversation(t testing.TB, customer string) string {
	t.Helper()
	id, err := w.Org.Insert("Conversation__c", map[string]any{
		"Status__c": "Open", "Channel__c": w.ChannelID, "Message_Recipient__c": customer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pendingTask creates an outbound Pending Task, as a user or a Flow does.
func (w *simWorld) pendingTask(t testing.TB, fields map[string]any) string {
	t.Helper()
	rec := map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Subject": "SMS"}
	for k, v := range fields {
		rec[k] = v
	}
	id, err := w.Org.Insert("Task", rec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitAllSent waits until every Task of ids carries a Message_Sid__c.
func (w *simWorld) waitAllSent(t testing.TB, limit time.Duration, ids []string) {
	t.Helper()
	sfdctest.Eventually(t, limit, "every task sent", func() bool {
		for _, id := range ids {
			if str(w.task(t, id)["Message_Sid__c"]) == "" {
				return false
			}
		}
		return true
	})
}

func (w *simWorld) task(t testing.TB, id string) map[string]any {
	t.Helper()
	rec, ok := w.Org.Get("Task", id)
	if !ok {
		t.Fatalf("task %s is gone", id)
	}
	return rec
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// messagesTo counts the Twilio messages sent to each number.
func (w *simWorld) messagesTo() map[string]int {
	out := map[string]int{}
	for _, m := range w.Twilio.Messages() {
		out[m.To]++
	}
	return out
}

func TestSendPendingTasks(t *testing.T) {
	w := newWorld(t, simOptions{})
	startDaemon(t, w, "", e2eTuning())

	conv := w.newConversation(t, "+14155550101")
	id := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Your order has shipped."})
	sfdctest.Eventually(t, 15*time.Second, "the task to be sent and delivered", func() bool {
		return str(w.task(t, id)["Message_Status__c"]) == "Delivered"
	})
	task := w.task(t, id)
	if sid := str(task["Message_Sid__c"]); !strings.HasPrefix(sid, "SM") {
		t.Errorf("Message_Sid__c = %q", sid)
	}
	if str(task["Message_Send_Date__c"]) == "" || str(task["Message_Status_Check_Date__c"]) == "" {
		t.Errorf("dates not written: %v", task)
	}
	msgs := w.Twilio.Messages()
	if len(msgs) != 1 || msgs[0].Body != "Your order has shipped." || msgs[0].From != simNumber || msgs[0].To != "+14155550101" {
		t.Fatalf("twilio messages = %+v", msgs)
	}
}

// freshPostgres returns the URL of a new database on the machine's
// PostgreSQL (127.0.0.1:5432, trust auth), dropped when the test ends.
// Without PostgreSQL the test is skipped, except under CI=true.
func freshPostgres(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at 127.0.0.1:5432 is unreachable (%v); CI=true requires it", err)
		}
		t.Skipf("PostgreSQL at 127.0.0.1:5432 is unreachable (%v)", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) // after the drop below: cleanups run last-in first-out
	name := fmt.Sprintf("sb_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
}
