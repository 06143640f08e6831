package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/sync/store"
)

// doctorWorld is a simulated org and Twilio as an admin leaves them after
// `switchboard setup`, with the number's webhook pointing at publicURL,
// where a stand-in answers /healthz (no daemon needed for most checks).
type doctorWorld struct {
	w         *simWorld
	env       []string
	publicURL string
	storeURL  string
}

func newDoctorWorld(t *testing.T) *doctorWorld {
	t.Helper()
	w := newWorld(t, simOptions{})
	health := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(rw, r)
			return
		}
		rw.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(health.Close)
	dw := &doctorWorld{w: w, publicURL: health.URL, storeURL: "sqlite://" + filepath.Join(t.TempDir(), "switchboard.db")}
	w.Twilio.SetInboundURL(dw.publicURL + "/twilio/inbound")
	dw.env = w.environ(dw.publicURL, dw.storeURL)
	return dw
}

// doctorRun runs `switchboard doctor` in-process, reading no files.
func doctorRun(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := append([]string{"doctor", "--config", os.DevNull, "--env-file", os.DevNull, "--timeout", "10s"}, args...)
	code := execute(ctx, all, &out, &errb, env(environ))
	return code, out.String(), errb.String()
}

// with returns environ with KEY=VAL replacing any KEY; without drops KEY.
func with(environ []string, kv string) []string {
	key, _, _ := strings.Cut(kv, "=")
	return append(without(environ, key), kv)
}

func without(environ []string, key string) []string {
	var out []string
	for _, e := range environ {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}

// line returns the report line that starts with mark and contains what.
func line(t *testing.T, out, mark, what string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, mark+" ") && strings.Contains(l, what) {
			return l
		}
	}
	t.Fatalf("no %q line about %q in:\n%s", mark, what, out)
	return ""
}

func wantAll(t *testing.T, l string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(l, s) {
			t.Errorf("line does not say %q:\n%s", s, l)
		}
	}
}

func topicID(t *testing.T, w *simWorld, name string) string {
	t.Helper()
	for _, r := range w.Org.Records("PushTopic") {
		if r["Name"] == name {
			return r["Id"].(string)
		}
	}
	t.Fatalf("no PushTopic %s", name)
	return ""
}

// runDaemon runs the real daemon on the world until the test ends and
// returns its public URL once /readyz says it is subscribed. (It reads
// readiness over HTTP, not Main's fields, which Run writes.)
func runDaemon(t *testing.T, w *simWorld, storeURL string, extraEnv ...string) string {
	t.Helper()
	ln, publicURL, err := listenLoopback()
	must(t, err)
	cfg, err := loadSimConfig(append(w.environ(publicURL, storeURL), extraEnv...))
	must(t, err)
	tun := e2eTuning()
	tun.Listener = ln
	w.Twilio.SetInboundURL(publicURL + "/twilio/inbound")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m := NewMain(cfg, zap.NewNop(), tun)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	sfdctest.Eventually(t, 20*time.Second, "the daemon to be ready", func() bool {
		if m.AdminAddr() == "" {
			return false
		}
		resp, err := http.Get("http://" + m.AdminAddr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return publicURL
}

// TestDoctorHealthy: against a running daemon on a good world, every check
// passes, none warns, and the exit code is 0.
func TestDoctorHealthy(t *testing.T) {
	w := newWorld(t, simOptions{})
	storeURL := "sqlite://" + filepath.Join(t.TempDir(), "switchboard.db")
	admin := freePort(t)
	adminEnv := "SWITCHBOARD_SERVER_ADMIN_LISTEN=" + admin
	publicURL := runDaemon(t, w, storeURL, adminEnv)
	code, out, errs := doctorRun(t, append(w.environ(publicURL, storeURL), adminEnv))
	t.Log("\n" + out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, markFail) || strings.Contains(out, markWarn) || strings.Contains(out, markSkip+" ") {
		t.Fatalf("a healthy world must be all ✓:\n%s", out)
	}
	for _, want := range []string{
		"configuration", "Salesforce login (jwt flow", "Salesforce API version 62.0", "daily API calls:", "schema: every SPEC object",
		"PushTopic SwitchboardTasks: active", "PushTopic SwitchboardConversations: active", "PushTopic SwitchboardChat: active",
		"default External Channels: Contact.MobilePhone, Contact.Phone, Lead.MobilePhone, Lead.Phone, Account.Phone",
		"streaming: handshake and subscribe to /topic/SwitchboardTasks and /topic/SwitchboardConversations",
		"Twilio credentials of " + simAccountSID, "channel Support: +14155550000 in " + simAccountSID + " sends inbound messages to " + publicURL + "/twilio/inbound",
		"server.public_url " + publicURL, "GET /healthz answered 200", "opens, writable",
		"server.admin_listen " + admin + " (loopback): GET /readyz answered ready",
	} {
		line(t, out, markPass, want)
	}
	// Sources are shown for the keys that matter, secrets never.
	if !strings.Contains(out, "salesforce.client_id = "+"3MVG9switchboardSimulatedOrgConsumerKey (from env SWITCHBOARD_SALESFORCE_CLIENT_ID)") {
		t.Errorf("configuration sources missing:\n%s", out)
	}
	if strings.Contains(out, simAuthToken) {
		t.Errorf("the auth token appears in the report:\n%s", out)
	}
}

// TestDoctorMisconfigurations: each broken setting or resource is named
// with its fix, and the exit code is 1. Subtests that only change settings
// share one world; those that change the org or Twilio get their own.
//
// Long on purpose: one table, a case per misconfiguration with its fix.
func TestDoctorMisconfigurations(t *testing.T) {
	shared := newDoctorWorld(t)
	otherKey := filepath.Join(t.TempDir(), "not-the-apps-key.pem")
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name  string
		env   func(e []string) []string           // settings change on the shared world
		world func(t *testing.T, dw *doctorWorld) // or a change of a world of its own
		mark  string                              // of the line; ✗ unless set
		code  int                                 // exit code; 1 unless mark is ⚠
		what  string                              // the report line about it
		says  []string                            // what that line must say: the broken thing and its fix
	}
	cases := []tc{
		{name: "missing client id", env: func(e []string) []string { return without(e, "SWITCHBOARD_SALESFORCE_CLIENT_ID") },
			what: "configuration salesforce.client_id", says: []string{"required", "set SWITCHBOARD_SALESFORCE_CLIENT_ID"}},
		{name: "wrong consumer key", env: func(e []string) []string { return with(e, "SWITCHBOARD_SALESFORCE_CLIENT_ID=3MVG9WrongKey") },
			what: "Salesforce login", says: []string{"invalid_client_id", `consumer key "3MVG9WrongKey"`, "Consumer Key of the Connected App", "SWITCHBOARD_SALESFORCE_CLIENT_ID"}},
		{name: "JWT key is not the app's certificate", env: func(e []string) []string { return with(e, "SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE="+otherKey) },
			what: "Salesforce login", says: []string{"invalid assertion", otherKey, "certificate", "Use digital signatures", "SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE"}},
		{name: "API version the org lacks", env: func(e []string) []string { return with(e, "SWITCHBOARD_SALESFORCE_API_VERSION=99.0") },
			what: "Salesforce API version 99.0", says: []string{"not 99.0", "SWITCHBOARD_SALESFORCE_API_VERSION) to 62.0"}},
		{name: "wrong Twilio token", env: func(e []string) []string { return with(e, "SWITCHBOARD_TWILIO_AUTH_TOKEN=0123456789wrong0123456789") },
			what: "Twilio credentials of " + simAccountSID, says: []string{"20003", "SWITCHBOARD_TWILIO_AUTH_TOKEN", "API keys & tokens"}},
		{name: "public_url http on a public host", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_SERVER_PUBLIC_URL=http://switchboard.example.com")
		}, what: "configuration server.public_url", says: []string{"must use https", "correct the environment variable SWITCHBOARD_SERVER_PUBLIC_URL"}},
		{name: "public_url is a webhook URL", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_SERVER_PUBLIC_URL="+shared.publicURL+"/twilio/inbound")
		}, what: "server.public_url", says: []string{"is a webhook URL", "SWITCHBOARD_SERVER_PUBLIC_URL) to " + shared.publicURL}},
		{name: "store URL cannot be opened", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_STORE_URL=sqlite:///nonexistent-switchboard-dir/sub/switchboard.db")
		}, what: "store sqlite:///nonexistent-switchboard-dir", says: []string{"cannot be opened", "does not exist", "SWITCHBOARD_STORE_URL"}},
		{name: "store URL scheme mistyped", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_STORE_URL=postgress://postgres:hunter2@127.0.0.1:5432/switchboard")
		}, what: "configuration store.url", says: []string{`scheme "postgress" is not sqlite:// or postgres://`, "SWITCHBOARD_STORE_URL"}},
		{name: "store URL does not parse", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_STORE_URL=postgres://postgres:hunter2%ZZ@127.0.0.1:5432/switchboard")
		}, what: "configuration store.url", says: []string{"is not a valid URL", "SWITCHBOARD_STORE_URL"}},
		{name: "Twilio account with = for :", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_TWILIO_ACCOUNTS=AC"+strings.Repeat("3", 32)+"=hunter2")
		}, what: "configuration twilio.accounts", says: []string{"entry 1 of 1 is not SID:TOKEN", "SWITCHBOARD_TWILIO_ACCOUNTS"}},
		{name: "operator listener on every interface", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_SERVER_ADMIN_LISTEN=0.0.0.0:0")
		}, mark: markWarn, what: "server.admin_listen 0.0.0.0:0", says: []string{"reachable beyond this host", "queue depths", "SWITCHBOARD_SERVER_ADMIN_LISTEN"}},
		{name: "operator listener not answering", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_SERVER_ADMIN_LISTEN=127.0.0.1:1")
		}, mark: markWarn, what: "server.admin_listen 127.0.0.1:1", says: []string{"GET http://127.0.0.1:1/readyz got no answer", "start `switchboard run`"}},
		{name: "operator listener is server.listen", env: func(e []string) []string {
			return with(with(e, "SWITCHBOARD_SERVER_LISTEN=127.0.0.1:7000"), "SWITCHBOARD_SERVER_ADMIN_LISTEN=127.0.0.1:7000")
		}, what: "configuration server.admin_listen", says: []string{"is server.listen too", "SWITCHBOARD_SERVER_ADMIN_LISTEN"}},
		{name: "default channel unknown", env: func(e []string) []string { return with(e, "SWITCHBOARD_TWILIO_DEFAULT_CHANNEL=Sales") },
			what: "configuration twilio.default_channel", says: []string{`"Sales" is not the Name of an active Channel__c`, "SWITCHBOARD_TWILIO_DEFAULT_CHANNEL", "Support"}},

		{name: "wrong password (password flow)", env: func(e []string) []string {
			for _, kv := range []string{"SWITCHBOARD_SALESFORCE_AUTH_FLOW=password", "SWITCHBOARD_SALESFORCE_CLIENT_SECRET=" + sfdctest.DefaultClientSecret,
				"SWITCHBOARD_SALESFORCE_PASSWORD=not-the-password", "SWITCHBOARD_SALESFORCE_SECURITY_TOKEN=" + sfdctest.DefaultSecurityToken} {
				e = with(e, kv)
			}
			return e
		}, what: "Salesforce login (password flow", says: []string{"invalid_grant: authentication failure", "SWITCHBOARD_SALESFORCE_PASSWORD", "SWITCHBOARD_SALESFORCE_SECURITY_TOKEN", "Allow OAuth Username-Password Flows"}},
		{name: "Twilio unreachable", env: func(e []string) []string { return with(e, "SWITCHBOARD_TWILIO_API_BASE_URL=http://127.0.0.1:1") },
			what: "Twilio credentials of " + simAccountSID, says: []string{"no answer from Twilio", "connection refused", "SWITCHBOARD_TWILIO_API_BASE_URL"}},
		{name: "PostgreSQL store unreachable", env: func(e []string) []string {
			return with(e, "SWITCHBOARD_STORE_URL=postgres://postgres:hunter2@127.0.0.1:1/switchboard")
		}, what: "store postgres://postgres:redacted@127.0.0.1:1/switchboard", says: []string{"cannot be opened", "SWITCHBOARD_STORE_URL"}},

		{name: "daily API calls used up", world: func(t *testing.T, dw *doctorWorld) { dw.w.Org.SetAPIUsage(100000, 100000) },
			what: "daily API calls", says: []string{"used all of its daily API calls (100000 of 100000", "rolling 24-hour window"}},
		{name: "daily API calls nearly used up", world: func(t *testing.T, dw *doctorWorld) { dw.w.Org.SetAPIUsage(95000, 100000) },
			mark: markWarn, what: "daily API calls: 4999 of 100000 left (5%)", says: []string{"less than 10%", "API Usage report"}},
		{name: "Messaging Service status callback elsewhere (warning)", world: func(t *testing.T, dw *doctorWorld) {
			const mg = "MG0123456789abcdef0123456789abcdef"
			must(t, dw.w.Twilio.AddMessagingService(simAccountSID, mg, "+14155550001"))
			must(t, dw.w.Twilio.SetServiceURLs(mg, dw.publicURL+"/twilio/inbound", "https://old-app.example.com/status", false))
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Messaging_Service_Sid__c": mg}))
		}, mark: markWarn, what: "channel Support", says: []string{"sends delivery status to https://old-app.example.com/status", "set it to {public}/twilio/status"}},
		{name: "Messaging Service defers to a misrouted number", world: func(t *testing.T, dw *doctorWorld) {
			const mg = "MG0123456789abcdef0123456789abcdef"
			must(t, dw.w.Twilio.AddMessagingService(simAccountSID, mg))
			must(t, dw.w.Twilio.SetServiceURLs(mg, "https://ignored.example.com/in", "", true))
			must(t, dw.w.Twilio.SetNumberURLs(simNumber, "https://old-app.example.com/sms", ""))
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Messaging_Service_Sid__c": mg}))
		}, what: "channel Support", says: []string{"+14155550000 sends inbound messages to POST https://old-app.example.com/sms", "A message comes in"}},
		{name: "missing field", world: func(t *testing.T, dw *doctorWorld) { dw.w.Org.DropField("Task", "Message_Status_Check_Date__c") },
			what: "schema", says: []string{"Task.Message_Status_Check_Date__c: field missing", "sf project deploy start --source-dir force-app", "Switchboard_Integration"}},
		{name: "PushTopic missing", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Delete("PushTopic", topicID(t, dw.w, sfdc.TopicConversations)))
		}, what: "PushTopic SwitchboardConversations", says: []string{"does not exist", "run `switchboard setup`"}},
		{name: "chat PushTopic missing", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Delete("PushTopic", topicID(t, dw.w, sfdc.TopicChat)))
		}, what: "PushTopic SwitchboardChat", says: []string{"does not exist", "the chat components", "run `switchboard setup`"}},
		{name: "Account default External Channel missing", world: func(t *testing.T, dw *doctorWorld) {
			for _, r := range dw.w.Org.Records("External_Channel__c") {
				if r["Object_API_Name__c"] == "Account" {
					must(t, dw.w.Org.Delete("External_Channel__c", r["Id"].(string)))
				}
			}
		}, what: "default External Channels", says: []string{"Account.Phone is missing", "replies from those numbers are not linked", "run `switchboard setup`"}},
		{name: "PushTopic inactive", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("PushTopic", topicID(t, dw.w, sfdc.TopicTasks), map[string]any{"IsActive": false}))
		}, what: "PushTopic SwitchboardTasks", says: []string{"inactive (IsActive = false)", "run `switchboard setup`"}},
		{name: "PushTopic query drifted", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("PushTopic", topicID(t, dw.w, sfdc.TopicTasks), map[string]any{"Query": "SELECT Id, Message_Status__c FROM Task"}))
		}, what: "PushTopic SwitchboardTasks", says: []string{`its query is "SELECT Id, Message_Status__c FROM Task"`, "SPEC §2 wants", "run `switchboard setup`"}},
		{name: "streaming refused", world: func(t *testing.T, dw *doctorWorld) { dw.w.Org.InjectBusy(1000) },
			what: "streaming", says: []string{"too busy", "try again in a few minutes"}},
		{name: "streaming client allocation used up", world: func(t *testing.T, dw *doctorWorld) {
			// Another subscriber (a running replica) holds the org's only
			// concurrent-client slot (ref §3.8).
			dw.w.Org.ConcurrentClientLimit(1)
			occupyStreamingClient(t, dw.w.Org)
		}, what: "streaming", says: []string{"an org streaming allocation is used up", "concurrent", "stop other subscribers"}},
		{name: "channel number not in the account", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Phone_Number__c": "+14155559999"}))
		}, what: "channel Support", says: []string{"+14155559999 is not a phone number of Twilio account " + simAccountSID, "correct Phone_Number__c on Channel__c Support"}},
		{name: "channel number not E.164", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Phone_Number__c": "(415) 555-0000"}))
		}, what: "channel Support", says: []string{`Phone_Number__c "(415) 555-0000" is not in E.164 form`, "set Phone_Number__c on Channel__c Support to the number in E.164"}},
		{name: "channel Messaging Service SID malformed", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Messaging_Service_Sid__c": "MG123"}))
		}, what: "channel Support", says: []string{`Messaging_Service_Sid__c "MG123" is not a Messaging Service SID`, "set Messaging_Service_Sid__c on Channel__c Support"}},
		{name: "inbound URL points elsewhere", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Twilio.SetNumberURLs(simNumber, "https://old-app.example.com/sms", ""))
		}, what: "channel Support", says: []string{"sends inbound messages to POST https://old-app.example.com/sms", "A message comes in: Webhook {public}/twilio/inbound"}},
		{name: "channel type names an unconfigured account", world: func(t *testing.T, dw *doctorWorld) {
			must(t, dw.w.Org.Update("Channel_Type__c", dw.w.ChannelTypeID, map[string]any{"Account_Sid__c": "AC00000000000000000000000000000001"}))
		}, what: "channel Support", says: []string{"AC00000000000000000000000000000001, which has no credentials here", "SWITCHBOARD_TWILIO_ACCOUNTS"}},
		{name: "Messaging Service inbound URL elsewhere", world: func(t *testing.T, dw *doctorWorld) {
			const mg = "MG0123456789abcdef0123456789abcdef"
			must(t, dw.w.Twilio.AddMessagingService(simAccountSID, mg, "+14155550001"))
			must(t, dw.w.Twilio.SetServiceURLs(mg, "https://old-app.example.com/in", "", false))
			must(t, dw.w.Org.Update("Channel__c", dw.w.ChannelID, map[string]any{"Phone_Number__c": nil, "Messaging_Service_Sid__c": mg}))
		}, what: "channel Support", says: []string{"Messaging Service MG0123456789abcdef0123456789abcdef sends inbound messages to POST https://old-app.example.com/in", "Integration → Incoming Messages"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dw := shared
			environ := shared.env
			if c.world != nil {
				dw = newDoctorWorld(t)
				c.world(t, dw)
				environ = dw.env
			} else {
				environ = c.env(append([]string(nil), environ...))
			}
			code, out, errs := doctorRun(t, environ)
			t.Log("\n" + out)
			mark, want := c.mark, c.code
			if mark == "" {
				mark = markFail
			}
			if want == 0 && mark == markFail {
				want = exitFailure
			}
			if code != want {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, want, out, errs)
			}
			l := line(t, out, mark, c.what)
			says := make([]string, len(c.says))
			for i, s := range c.says {
				says[i] = strings.ReplaceAll(s, "{public}", dw.publicURL)
			}
			wantAll(t, l, says...)
			if !strings.Contains(l, " — fix: ") {
				t.Errorf("no fix on the line: %s", l)
			}
			if want == exitFailure && !strings.Contains(errs, "failed") {
				t.Errorf("stderr does not sum up: %q", errs)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("a password appears in the report:\n%s", out)
			}
		})
	}
}

// TestDoctorPostgresStore: the store check passes on PostgreSQL too (a
// database of its own, dropped afterwards).
func TestDoctorPostgresStore(t *testing.T) {
	storeURL := freshPostgres(t)
	dw := newDoctorWorld(t)
	code, out, errs := doctorRun(t, with(dw.env, "SWITCHBOARD_STORE_URL="+storeURL))
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	line(t, out, markPass, "(postgres): opens, writable, 0 job(s) queued, 0 dead letter(s)")
}

// TestDoctorSkipsWhatNeedsAFailedLogin: a failed login says which org
// checks it skipped, and Twilio and the store are still checked.
func TestDoctorSkipsWhatNeedsAFailedLogin(t *testing.T) {
	dw := newDoctorWorld(t)
	code, out, _ := doctorRun(t, with(dw.env, "SWITCHBOARD_SALESFORCE_USERNAME=someone-else@example.com"))
	if code != exitFailure {
		t.Fatalf("exit %d\n%s", code, out)
	}
	wantAll(t, line(t, out, markFail, "Salesforce login"), "is not pre-authorised", "Admin approved users are pre-authorized", "SWITCHBOARD_SALESFORCE_USERNAME")
	for _, skipped := range []string{"Salesforce API version", "schema", "PushTopic SwitchboardTasks", "streaming", "channels"} {
		wantAll(t, line(t, out, markSkip, skipped), "skipped")
	}
	line(t, out, markPass, "Twilio credentials of "+simAccountSID)
	line(t, out, markPass, "opens, writable")
}

// TestDoctorDeadLetters: dead letters are a warning with the replay hint
// (exit 0), and following the hint clears it.
func TestDoctorDeadLetters(t *testing.T) {
	dw := newDoctorWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dw.storeURL, store.Options{RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	must(t, err)
	must(t, st.Handle(kindSend, func(context.Context, store.Job) error { return errors.New("task 00T000000000001 has no conversation") }))
	must(t, st.Start(ctx))
	must(t, st.Enqueue(ctx, store.Job{Kind: kindSend, Key: "00T000000000001@7", Payload: []byte(`{"task_id":"00T000000000001"}`), MaxAttempts: 1}))
	sfdctest.Eventually(t, 20*time.Second, "the job to become a dead letter", func() bool {
		dp, err := st.QueueDepth(ctx)
		return err == nil && dp[kindSend].Dead == 1
	})
	must(t, st.Close(ctx))

	code, out, errs := doctorRun(t, dw.env)
	if code != exitOK {
		t.Fatalf("dead letters are a warning, not a failure: exit %d\n%s\n%s", code, out, errs)
	}
	wantAll(t, line(t, out, markWarn, "1 dead letter(s)"), "send 1", `"00T000000000001@7" failed 1 times: task 00T000000000001 has no conversation`,
		"`switchboard dead-letters`", "`switchboard dead-letters replay --all`")

	// The hint works: after the replay the store has none left.
	var rout, rerr bytes.Buffer
	if code := execute(ctx, []string{"dead-letters", "replay", "--all", "--config", os.DevNull, "--env-file", os.DevNull}, &rout, &rerr, env(dw.env)); code != exitOK {
		t.Fatalf("dead-letters replay --all: exit %d\n%s\n%s", code, rout.String(), rerr.String())
	}
	_, out, _ = doctorRun(t, dw.env)
	line(t, out, markPass, "0 dead letter(s)")
}

// TestDoctorBadFlags: unusable flags exit 2 before any check runs.
func TestDoctorBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--timeout", "soon"}, {"--timeout", "0s"}, {"--no-such-flag"}} {
		code, out, errs := doctorRun(t, nil, args...)
		if code != exitBadInput || strings.Contains(out, markPass) {
			t.Errorf("%v: exit %d, want %d\n%s\n%s", args, code, exitBadInput, out, errs)
		}
	}
	var out, errb bytes.Buffer
	if code := execute(context.Background(), []string{"doctor", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, &out, &errb, env{}); code != exitBadInput {
		t.Errorf("unreadable settings file: exit %d\n%s", code, errb.String())
	}
}

// TestSameURL: webhook URLs compare as Twilio calls them.
func TestSameURL(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://sb.example.com/twilio/inbound", "https://SB.example.com:443/twilio/inbound/", true},
		{"https://sb.example.com/twilio/inbound#rc=3&ct=2000", "https://sb.example.com/twilio/inbound", true},
		{"http://sb.example.com/twilio/inbound", "https://sb.example.com/twilio/inbound", false},
		{"https://sb.example.com/twilio/Inbound", "https://sb.example.com/twilio/inbound", false},
		{"https://sb.example.com:8443/twilio/inbound", "https://sb.example.com/twilio/inbound", false},
	} {
		if got := sameURL(c.a, c.b); got != c.same {
			t.Errorf("sameURL(%s, %s) = %t", c.a, c.b, got)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// occupyStreamingClient handshakes one Bayeux client on org, as another
// subscriber would, so it counts against the concurrent-client allocation.
func occupyStreamingClient(t *testing.T, org *sfdctest.Org) {
	t.Helper()
	body := `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]`
	req, err := http.NewRequest(http.MethodPost, org.URL()+"/cometd/"+sfdc.DefaultAPIVersion, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "OAuth "+org.Session())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(reply), `"successful":true`) {
		t.Fatalf("handshake: HTTP %d %s", resp.StatusCode, reply)
	}
}

// TestBinaryLinksNoTestPackages: the shipped binary must not carry test
// helpers (doctor once linked zaptest/observer to read the stream's logs).
func TestBinaryLinksNoTestPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		// The simulators (sfdctest, twiliotest) are linked on purpose, for
		// `switchboard demo`; river links test helpers of its own.
		if strings.HasPrefix(pkg, "go.uber.org/zap/zaptest") {
			t.Errorf("cmd/switchboard links %s", pkg)
		}
	}
}
