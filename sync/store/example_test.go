package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
)

// How cmd/switchboard wires the store: open, register handlers and periodic
// work, start, and close on shutdown.
func Example() {
	dir, _ := os.MkdirTemp("", "switchboard")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "switchboard.db"), store.Options{})
	if err != nil {
		fmt.Println(err) // names store.url and SWITCHBOARD_STORE_URL
		return
	}
	done := make(chan string, 1)
	throttled := true
	_ = s.Handle("send", func(ctx context.Context, j store.Job) error {
		if throttled {
			throttled = false
			// A Twilio 429: try again later without using up an attempt.
			return &sbsync.RetryError{After: 10 * time.Millisecond, Err: errors.New("429")}
		}
		done <- j.Key
		return nil
	})
	_ = s.Handle("sweep", func(context.Context, store.Job) error { return nil })
	_ = s.Periodic("sweep", 5*time.Minute, true) // on the leader only

	// A PushTopic event: the job and the replay checkpoint in one transaction.
	_ = s.EnqueueAndCheckpoint(ctx, []store.Job{{Kind: "send", Key: "throttled"}}, "/topic/SwitchboardTasks", 42)
	_ = s.Start(ctx)
	fmt.Println("sent", <-done)

	var ledger sbsync.Ledger = s // the engine's send ledger
	_, fresh, _ := ledger.BeginSend(ctx, sbsync.SendIntent{Key: "00T1@2026-12-01T06:00:00Z", TaskID: "00T1"})
	fmt.Println("fresh:", fresh)

	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println("closed:", s.Close(shutdown))
	// Output:
	// sent throttled
	// fresh: true
	// closed: <nil>
}
