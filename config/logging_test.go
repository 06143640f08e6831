package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func decodeLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLoggerScrubsSecretsAndBodies(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(Log{Level: "info", Format: "json"}, []string{"tok-SECRET-123", "x"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	child := log.With(zap.String("auth", "Bearer tok-SECRET-123"))
	child.Info("login failed with tok-SECRET-123",
		TaskID("00T000000000001AAA"), MessageSID("SM0123"),
		Body("Hi Ana, your order shipped"),
		zap.Error(errors.New("oauth: tok-SECRET-123 rejected")))
	log.Debug("debug line is below the level", Body("hidden"))

	out := buf.String()
	if strings.Contains(out, "tok-SECRET-123") {
		t.Fatalf("secret leaked: %s", out)
	}
	if strings.Contains(out, "order shipped") {
		t.Fatalf("body at info leaked: %s", out)
	}
	lines := decodeLines(t, &buf)
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %d: %s", len(lines), out)
	}
	l := lines[0]
	if l["task_id"] != "00T000000000001AAA" || l["message_sid"] != "SM0123" {
		t.Errorf("ids missing: %v", l)
	}
	if l["body_len"] != float64(len("Hi Ana, your order shipped")) {
		t.Errorf("body_len = %v", l["body_len"])
	}
	if l["msg"] != "login failed with [redacted]" || l["auth"] != "Bearer [redacted]" || l["error"] != "oauth: [redacted] rejected" {
		t.Errorf("scrubbing: %v", l)
	}
	if !strings.Contains(out, `"ts"`) || !strings.Contains(out, `"level":"info"`) {
		t.Errorf("json shape: %s", out)
	}
}

func TestLoggerDebugKeepsBody(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(Log{Level: "debug", Format: "json"}, nil, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("sending", Body("hello"))
	if l := decodeLines(t, &buf); l[0]["body"] != "hello" {
		t.Fatalf("debug should keep the body: %v", l)
	}
}

func TestLoggerConsoleAndBadSettings(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(Log{Level: "warn", Format: "console"}, nil, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("careful")
	if !strings.Contains(buf.String(), "careful") || strings.HasPrefix(buf.String(), "{") {
		t.Fatalf("console output: %q", buf.String())
	}
	if _, err := NewLogger(Log{Level: "loud", Format: "json"}, nil, nil); err == nil {
		t.Fatal("bad level accepted")
	}
	if _, err := NewLogger(Log{Level: "info", Format: "xml"}, nil, nil); err == nil {
		t.Fatal("bad format accepted")
	}
}

func TestSlogBridgeScrubs(t *testing.T) {
	var buf bytes.Buffer
	log, _ := NewLogger(Log{Level: "info", Format: "json"}, []string{"pw-abcdef"}, &buf)
	Slog(log).Info("river says", "dsn", "postgres://u:pw-abcdef@h/db")
	if strings.Contains(buf.String(), "pw-abcdef") || !strings.Contains(buf.String(), "river says") {
		t.Fatalf("slog bridge: %s", buf.String())
	}
}
