package store

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
)

// quietShutdown lowers River's errors about cancelled contexts to debug
// once the store is stopping. Stopping cancels River's maintenance loops
// mid-query, and some of them (the periodic enqueuer, the elector) log
// that as an ERROR, which an operator reads as a fault at every quick
// restart. Any other error, and any error while running, passes as it is.
type quietShutdown struct {
	slog.Handler
	stopping func() bool
}

func (h *quietShutdown) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && h.stopping() && mentionsCancel(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		q := slog.NewRecord(r.Time, slog.LevelDebug, r.Message+" (while stopping)", r.PC)
		r.Attrs(func(a slog.Attr) bool { q.AddAttrs(a); return true })
		r = q
	}
	return h.Handler.Handle(ctx, r)
}

func (h *quietShutdown) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quietShutdown{Handler: h.Handler.WithAttrs(attrs), stopping: h.stopping}
}

func (h *quietShutdown) WithGroup(name string) slog.Handler {
	return &quietShutdown{Handler: h.Handler.WithGroup(name), stopping: h.stopping}
}

// shutdownSymptoms are the texts of errors a stop causes: the cancelled
// context itself, and database/sql's sql.ErrTxDone, which a transaction
// whose context was cancelled mid-way answers to its commit (River's
// periodic enqueuer logged it at ERROR on a quick stop).
var shutdownSymptoms = []string{"context canceled", sql.ErrTxDone.Error()}

func mentionsCancel(r slog.Record) bool {
	has := func(text string) bool {
		for _, sym := range shutdownSymptoms {
			if strings.Contains(text, sym) {
				return true
			}
		}
		return false
	}
	found := has(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		found = found || has(a.Value.String())
		return !found
	})
	return found
}
