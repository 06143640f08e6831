package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue reads one sample ("name{labels} value") from a scrape.
func metricValue(t *testing.T, scrape, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(scrape)
	if m == nil {
		t.Fatalf("no sample %s in /metrics", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestHealthReadinessAndMetrics: /healthz is the process, /readyz the
// stream and the store, /metrics the counters an operator watches (the
// last two on the operator listener).
func TestHealthReadinessAndMetrics(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	admin := "http://" + d.m.AdminAddr()
	if code, body := get(t, d.publicURL+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, admin+"/readyz"); code != 200 || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550300"), "Description": "metrics"})
	sfdctest.Eventually(t, 15*time.Second, "delivered", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Delivered" })
	_, scrape := get(t, admin+"/metrics")
	for series, least := range map[string]float64{
		`switchboard_twilio_sends_total{code="",result="sent"}`:              1,
		`switchboard_stream_subscribed`:                                      1,
		`switchboard_callbacks_applied_total`:                                1,
		`switchboard_salesforce_calls_total`:                                 2,
		`switchboard_jobs_total{kind="send",result="done"}`:                  1,
		`switchboard_webhooks_total{code="204",kind="status"}`:               1,
		`switchboard_stream_events_total{channel="/topic/SwitchboardTasks"}`: 1,
		`switchboard_salesforce_api_calls_limit`:                             1,
		`switchboard_queue_jobs{kind="send",state="dead"}`:                   0,
		`switchboard_job_seconds_count{kind="send"}`:                         1,
		`switchboard_webhook_ack_seconds_count{kind="status"}`:               1,
	} {
		if v := metricValue(t, scrape, series); v < least {
			t.Errorf("%s = %v, want at least %v", series, v, least)
		}
	}

	// The stream cannot subscribe (Salesforce too busy): not ready, and why.
	w.Org.InjectBusy(1 << 20)
	w.Org.RestartStreaming()
	sfdctest.Eventually(t, 15*time.Second, "/readyz to report the stream", func() bool {
		code, body := get(t, admin+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "stream is not subscribed")
	})
	if code, _ := get(t, d.publicURL+"/healthz"); code != 200 {
		t.Errorf("/healthz while not ready: %d (the process is alive)", code)
	}
	// Each session end is counted by its cause (sfdc.SessionEnd).
	sfdctest.Eventually(t, 15*time.Second, "a busy session end in /metrics", func() bool {
		_, scrape = get(t, admin+"/metrics")
		return strings.Contains(scrape, `switchboard_stream_reconnects_total{cause="busy"}`) &&
			metricValue(t, scrape, `switchboard_stream_reconnects_total{cause="busy"}`) >= 1
	})
	w.Org.InjectBusy(0)
}
