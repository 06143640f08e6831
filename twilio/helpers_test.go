package twilio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

const (
	acct1 = "AC0123456789abcdef0123456789abcdef"
	tok1  = "0123456789abcdef0123456789abcdef"
	acct2 = "ACfedcba9876543210fedcba9876543210"
	tok2  = "fedcba9876543210fedcba9876543210"
	num1  = "+15017122661"
	num2  = "+15017122662"
	mg1   = "MG0123456789abcdef0123456789abcdef"
	mgNum = "+15017122663"
	cust  = "+15558675310"
)

type env struct {
	fake *twiliotest.Server
	tw   *twilio.Accounts
	cb   *receiver
}

// newEnv starts a simulated Twilio with two accounts and a callback
// receiver, and a client pointed at it.
func newEnv(t testing.TB, opts twilio.Options) *env {
	t.Helper()
	fake := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acct1: tok1, acct2: tok2}})
	must(t, fake.AddNumber(acct1, num1))
	must(t, fake.AddNumber(acct2, num2))
	must(t, fake.AddMessagingService(acct1, mg1, mgNum))
	opts.BaseURL = fake.URL()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	tw, err := twilio.NewAccounts(map[string]string{acct1: tok1, acct2: tok2}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Close)
	return &env{fake: fake, tw: tw, cb: newReceiver(t)}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func settle(t *testing.T, fake *twiliotest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.Settle(ctx); err != nil {
		t.Fatalf("lifecycles did not settle: %v", err)
	}
}

// twErr extracts the *twilio.Error of a call that must have failed.
func twErr(t *testing.T, err error) *twilio.Error {
	t.Helper()
	var e *twilio.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *twilio.Error", err, err)
	}
	return e
}

// receiver is a webhook endpoint on loopback that records what it gets.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	URL       string
	Form      url.Values
	Signature string
	Idem      string
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := req.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, received{URL: r.srv.URL + req.URL.RequestURI(), Form: req.PostForm,
			Signature: req.Header.Get("X-Twilio-Signature"), Idem: req.Header.Get("I-Twilio-Idempotency-Token")})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// node runs Twilio's own Node helper library (twilio/testdata/npm/sign.js)
// on reqs and decodes its answers into out.
func node(t *testing.T, reqs []map[string]any, out any) {
	t.Helper()
	dir, err := filepath.Abs("testdata/npm")
	if err != nil {
		t.Fatal(err)
	}
	bin, lookErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "twilio"))
	if lookErr != nil || modErr != nil {
		msg := "the independent signer needs node and `npm ci --prefix twilio/testdata/npm` (node: " +
			errString(lookErr) + ", node_modules/twilio: " + errString(modErr) + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, filepath.Join(dir, "sign.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sign.js: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node sign.js output %q: %v", b, err)
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// nodeParams turns form values into what twilio-node's validator takes.
func nodeParams(v url.Values) map[string]any {
	m := map[string]any{}
	for k, vs := range v {
		if len(vs) == 1 {
			m[k] = vs[0]
		} else {
			m[k] = vs
		}
	}
	return m
}
