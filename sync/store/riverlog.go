package store

import (
	"context"
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

func mentionsCancel(r slog.Record) bool {
	found := strings.Contains(r.Message, "context canceled")
	r.Attrs(func(a slog.Attr) bool {
		found = found || strings.Contains(a.Value.String(), "context canceled")
		return !found
	})
	return found
}
