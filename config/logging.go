package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

// Field names every package uses for the identifiers an operator greps for.
// A log line about a message carries TaskID and/or MessageSID.
const (
	FieldTaskID     = "task_id"
	FieldMessageSID = "message_sid"
	FieldBody       = "body"
)

// TaskID and MessageSID are the fields that tie a log line to a message.
func TaskID(id string) zap.Field      { return zap.String(FieldTaskID, id) }
func MessageSID(sid string) zap.Field { return zap.String(FieldMessageSID, sid) }

// Body attaches a message body. The logger drops it to its length at every
// level above debug, so customers' texts never reach info logs.
func Body(s string) zap.Field { return zap.String(FieldBody, s) }

// NewLogger builds the process logger: JSON (or console) on w, at the
// configured level, with every secret scrubbed from messages and string
// fields and bodies reduced to their length above debug.
func NewLogger(cfg Log, secrets []string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch cfg.Format {
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	case "json", "":
		enc = zapcore.NewJSONEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log.format: %q is not json or console", cfg.Format)
	}
	if w == nil {
		w = os.Stderr
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(&scrubCore{Core: core, secrets: nonEmpty(secrets)}, zap.AddCaller()), nil
}

// Slog bridges a zap logger to log/slog for libraries that want one (River).
func Slog(l *zap.Logger) *slog.Logger {
	return slog.New(zapslog.NewHandler(l.Core(), zapslog.WithCaller(false)))
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		// A one- or two-character "secret" would scrub half of every line.
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	return out
}

// scrubCore rewrites entries before they are encoded. It is the last line of
// defence: code should not log secrets, but an error string from a library
// (an OAuth error echoing a request, a URL with a token) can carry one.
type scrubCore struct {
	zapcore.Core
	secrets []string
}

func (c *scrubCore) With(fields []zapcore.Field) zapcore.Core {
	return &scrubCore{Core: c.Core.With(c.scrubFields(zapcore.DebugLevel+1, fields)), secrets: c.secrets}
}

func (c *scrubCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *scrubCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	e.Message = c.scrub(e.Message)
	return c.Core.Write(e, c.scrubFields(e.Level, fields))
}

func (c *scrubCore) scrub(s string) string {
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func (c *scrubCore) scrubFields(lvl zapcore.Level, fields []zapcore.Field) []zapcore.Field {
	out := fields
	copied := false
	set := func(i int, f zapcore.Field) {
		if !copied {
			out = append([]zapcore.Field(nil), fields...)
			copied = true
		}
		out[i] = f
	}
	for i, f := range fields {
		switch {
		case f.Key == FieldBody && f.Type == zapcore.StringType && lvl > zapcore.DebugLevel:
			set(i, zap.Int("body_len", len([]rune(f.String))))
		case f.Type == zapcore.StringType:
			if s := c.scrub(f.String); s != f.String {
				set(i, zap.String(f.Key, s))
			}
		case f.Type == zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok {
				if s := c.scrub(err.Error()); s != err.Error() {
					set(i, zap.String(f.Key, s))
				}
			}
		case f.Type == zapcore.StringerType:
			if st, ok := f.Interface.(fmt.Stringer); ok {
				if s := c.scrub(st.String()); s != st.String() {
					set(i, zap.String(f.Key, s))
				}
			}
		}
	}
	return out
}
