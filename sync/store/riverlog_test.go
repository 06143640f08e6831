package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchboard/switchboard/config"
)

func TestQuietShutdownHandler(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	stopping := false
	log := slog.New(&quietShutdown{Handler: config.Slog(zap.New(core)).Handler(), stopping: func() bool { return stopping }})
	canceled := context.Canceled
	log.Error("Error fetching", "err", canceled)
	stopping = true
	log.Error("Error fetching", "err", canceled)
	log.With("component", "elector").Error("Error attempting reelection", "err", errors.New("begin: context canceled"))
	log.Error("Error committing transaction", "error", sql.ErrTxDone)
	log.Error("Error fetching", "err", errors.New("disk I/O error"))
	log.Info("stopped")
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	want := []string{
		"error Error fetching",                                // running: as it is
		"debug Error fetching (while stopping)",               // stopping, cancelled
		"debug Error attempting reelection (while stopping)",  // through With
		"debug Error committing transaction (while stopping)", // the tx its cancelled context rolled back
		"error Error fetching",                                // stopping, another error
		"info stopped",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := logs.All()[2].ContextMap(); f["component"] != "elector" {
		t.Errorf("attributes lost: %v", f)
	}
}

// A store stopped right after it started logs no ERROR about the
// cancellation it caused.
func TestQuickStopLogsNoErrors(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	o := testOptions()
	o.Logger = zap.New(core)
	for i := range 6 {
		s, err := Open(bg, sqliteURL(t), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"sweep", "poll"} {
			if err := s.Handle(kind, func(context.Context, Job) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if err := s.Periodic(kind, time.Second, true); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Start(bg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i*150) * time.Millisecond)
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	for _, e := range logs.FilterLevelExact(zapcore.ErrorLevel).All() {
		t.Errorf("ERROR on a quick stop: %s %v", e.Message, e.ContextMap())
	}
}
