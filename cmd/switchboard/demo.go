package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/switchboard/switchboard/sync/store"
)

// The demo's people. Ada's number is stored the way people type it, so the
// transcript shows that matching does not depend on the format (SPEC §1
// External_Channel__c).
const (
	demoCustomer      = "+14155550100"
	demoCustomerTyped = "(415) 555-0100"
	demoStranger      = "+14155550142"
	demoStrangerTyped = "415.555.0142"
	demoLeadTyped     = "+1 415 555 0163"
)

// The demo's template for Contacts and its German translation: what an
// agent picks in the chat's composer (SPEC §1 Message_Template__c).
const (
	demoTemplateName = "Order shipped"
	demoTemplateText = "Hi {!Contact.FirstName}, your order #1042 has shipped. Reply here if you have any questions."
	demoTemplateDE   = "Hallo {!Contact.FirstName}, Ihre Bestellung #1042 ist unterwegs. Antworten Sie hier, wenn Sie Fragen haben."
)

// demoHeartbeat is engine.heartbeat_interval in the demo (5m by default):
// the Administration tab shows the daemon's status row within seconds.
const demoHeartbeat = "10s"

// Demo timings: a visible Twilio lifecycle, and a status poll that finds a
// lost callback within seconds instead of engine.status_poll_after's 15 min.
const (
	demoStepDelay     = 250 * time.Millisecond
	demoPollAfter     = "2s"
	demoPollInterval  = 500 * time.Millisecond
	demoStepLimit     = 15 * time.Second
	demoStartLimit    = 20 * time.Second
	demoShutdownLimit = 25 * time.Second
)

type demoFlags struct {
	serve bool
	addr  string
	story bool
	pace  time.Duration
}

// demoServePace is the pause between steps with --serve, long enough to
// follow each step on the page.
const demoServePace = 3 * time.Second

func newDemoCmd(g *globals) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play the whole flow against a built-in simulated Salesforce org and Twilio (no accounts, no network)",
		Long: `demo starts a simulated Salesforce org and a simulated Twilio in this process,
seeds them as "switchboard setup" and an admin would (a channel "Support" on
+14155550000 owned by the queue Support_Queue, a Contact Ada Lovelace stored as
"(415) 555-0100"), runs the real switchboard daemon against them with an
embedded SQLite store in a temporary folder, and plays five steps:

  1. an agent's Pending Task is sent through Twilio and delivered;
  2. the customer replies: an inbound Task on the Contact, in the same conversation;
  3. a stranger texts; an agent creates a Lead and binds the conversation to it;
  4. the customer texts STOP: the next message to them is blocked with an Error;
  5. a delivery receipt is lost: switchboard finds the status by polling Twilio.

It prints what an admin would see in Salesforce, with record Ids, and exits 0
only when every step was observed (1 and the step's name otherwise).

With --serve it also serves a local web page (default http://127.0.0.1:8090)
that shows the simulated org's records live, with a phone to text from and a
box to send as an agent, and the Salesforce app's real Lightning components
(the chat on a Contact's and a Lead's page, the inbox, the administration)
running against the simulated org. The page is up while the story plays (paced 3 s per
step; --pace changes it) and stays up afterwards until Ctrl-C.

Nothing in your switchboard.yaml, .env or SWITCHBOARD_* environment is used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.serve && !f.story {
				return &exitError{code: exitBadInput, err: errors.New("--story=false leaves nothing to do without --serve")}
			}
			if f.pace < 0 || f.pace > time.Minute {
				return &exitError{code: exitBadInput, err: fmt.Errorf("--pace %s: give a pause between 0s and 1m", f.pace)}
			}
			if f.serve && !cmd.Flags().Changed("pace") {
				f.pace = demoServePace
			}
			log, err := demoLogger(cmd, g.stderr)
			if err != nil {
				return &exitError{code: exitBadInput, err: err}
			}
			defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
			return runDemo(cmd.Context(), g.stdout, log, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.serve, "serve", false, "serve a live web page of the simulated org, with a phone to text from, until Ctrl-C")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8090", "with --serve: where the page listens (keep it on loopback; it answers only for localhost, 127.0.0.1 or [::1])")
	fl.BoolVar(&f.story, "story", true, "play the scripted story (--serve --story=false serves the freshly seeded org only)")
	fl.DurationVar(&f.pace, "pace", 0, "pause between the story's steps (default 0, or 3s with --serve so you can follow it on the page)")
	return cmd
}

// demoLogger logs warnings and errors only, as plain console lines without
// colour codes or stack traces, so the transcript on stdout reads cleanly
// in a terminal and in CI logs; --log.level still overrides the level. The
// only secrets in play are the simulators' published ones, so the
// configuration's redacting logger is not needed here.
func demoLogger(cmd *cobra.Command, stderr io.Writer) (*zap.Logger, error) {
	level := zapcore.WarnLevel
	if fl := cmd.Flags().Lookup("log.level"); fl != nil && fl.Changed {
		if err := level.UnmarshalText([]byte(fl.Value.String())); err != nil {
			return nil, fmt.Errorf("--log.level: %q is not one of debug, info, warn, error", fl.Value.String())
		}
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeLevel = zapcore.CapitalLevelEncoder
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	enc.StacktraceKey = ""
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(stderr), level)), nil
}

// demoHookKey carries a function that changes the simulated world before
// the story starts (tests break a step with it).
type demoHookKey struct{}

func withDemoHook(ctx context.Context, hook func(*simWorld)) context.Context {
	return context.WithValue(ctx, demoHookKey{}, hook)
}

// transcript is what the demo prints, also kept for the web page.
type transcript struct {
	w     io.Writer
	mu    gosync.Mutex
	lines []string
}

func (t *transcript) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.w, s)
	t.lines = append(t.lines, strings.Split(s, "\n")...)
}

func (t *transcript) snapshot() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lines)
}

// stepError names the step that was not observed.
type stepError struct {
	n     int
	title string
	err   error
}

func (e *stepError) Error() string {
	if errors.Is(e.err, errInterrupted) {
		return fmt.Sprintf("demo: interrupted during step %d (%s)", e.n, e.title)
	}
	return fmt.Sprintf("demo: step %d (%s) was not observed: %v", e.n, e.title, e.err)
}
func (e *stepError) Unwrap() error { return e.err }

// errInterrupted: Ctrl-C during the story.
var errInterrupted = errors.New("interrupted")

// demoRun is one demo: the world, the daemon on it, and what the story
// has created so far.
type demoRun struct {
	out       *transcript
	w         *simWorld
	m         *Main
	publicURL string
	dir       string

	contact, adaConv, lead, strangerConv string
	seedLead, template                   string
}

func runDemo(ctx context.Context, stdout io.Writer, log *zap.Logger, f demoFlags) (err error) {
	began := time.Now()
	out := &transcript{w: stdout}
	dir, err := os.MkdirTemp("", "switchboard-demo-")
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("demo: a temporary folder: %w", err)}
	}
	defer os.RemoveAll(dir)

	// The page's listener first: a busy --addr is bad input, found before
	// anything starts.
	var webLn net.Listener
	if f.serve {
		if host, _, err := net.SplitHostPort(f.addr); err == nil && !isLoopbackHost(host) {
			log.Warn("--addr " + f.addr + " is not a loopback address: whoever can reach it can read the simulated org and text as its customers " +
				"(the page still answers only requests for localhost, 127.0.0.1 or [::1]); prefer --addr 127.0.0.1:8090")
		}
		if webLn, err = net.Listen("tcp", f.addr); err != nil {
			return &exitError{code: exitBadInput, err: fmt.Errorf("--addr %s: %w", f.addr, err)}
		}
		defer webLn.Close()
	}

	w, err := newSimWorld(ctx, dir, simOptions{StepDelay: demoStepDelay})
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("demo: starting the simulators: %w", err)}
	}
	defer w.Close()
	if hook, ok := ctx.Value(demoHookKey{}).(func(*simWorld)); ok && hook != nil {
		hook(w)
	}
	d := &demoRun{out: out, w: w, dir: dir}
	if d.contact, err = w.Org.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": demoCustomerTyped}); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("demo: seeding the Contact: %w", err)}
	}
	if err := d.seedAgentData(); err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("demo: seeding: %w", err)}
	}

	stopDaemon, err := d.startDaemon(ctx, log)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	defer func() {
		if serr := stopDaemon(); serr != nil && err == nil {
			err = &exitError{code: exitFailure, err: serr}
		}
	}()
	d.intro(f)

	var web *http.Server
	if f.serve {
		web = &http.Server{Handler: (&demoWeb{w: w, story: out, log: log}).handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if serr := web.Serve(webLn); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
				log.Error("demo page", zap.Error(serr))
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = web.Shutdown(sctx)
		}()
		out.printf("Live page: http://%s  (the simulated org's records, a phone to text from, an agent's send box, the Lightning components)\n", webLn.Addr())
	}

	var storyErr error
	if f.story {
		storyErr = d.play(ctx, f.pace)
		if storyErr == nil {
			out.printf("All 5 steps observed in %.1f s.", time.Since(began).Seconds())
			d.summary()
		} else {
			out.printf("FAILED: %v", storyErr)
		}
	}
	if f.serve && ctx.Err() == nil {
		out.printf("\nServing http://%s until Ctrl-C.", webLn.Addr())
		<-ctx.Done()
		out.printf("Stopping.")
	}
	if storyErr != nil {
		return &exitError{code: exitFailure, err: storyErr}
	}
	return nil
}

// seedAgentData adds what an agent's screen needs beyond the Contact: a
// Lead with a phone (its record page has a chat too) and a template for
// Contacts with a German translation.
func (d *demoRun) seedAgentData() error {
	var err error
	if d.seedLead, err = d.w.Org.Insert("Lead", map[string]any{"FirstName": "Katherine", "LastName": "Johnson", "Company": "Langley", "MobilePhone": demoLeadTyped}); err != nil {
		return fmt.Errorf("the Lead: %w", err)
	}
	if d.template, err = d.w.Org.Insert("Message_Template__c", map[string]any{"Name": demoTemplateName, "SObject_API_Name__c": "Contact", "Message_Text__c": demoTemplateText}); err != nil {
		return fmt.Errorf("the template: %w", err)
	}
	if _, err = d.w.Org.Insert("Message_Template_Translation__c", map[string]any{"Message_Template__c": d.template, "Language__c": "de", "Text_Body__c": demoTemplateDE}); err != nil {
		return fmt.Errorf("the template's translation: %w", err)
	}
	return nil
}

// startDaemon runs the real daemon (NewMain + Run) on the world with a
// SQLite store in the demo's folder, and waits until /readyz says so.
func (d *demoRun) startDaemon(ctx context.Context, log *zap.Logger) (stop func() error, err error) {
	ln, publicURL, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("demo: a listener for the daemon: %w", err)
	}
	environ := append(d.w.environ(publicURL, "sqlite://"+filepath.Join(d.dir, "switchboard.db")),
		"SWITCHBOARD_ENGINE_STATUS_POLL_AFTER="+demoPollAfter, "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL="+demoHeartbeat)
	cfg, err := loadSimConfig(environ)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("demo: configuration: %w", err)
	}
	d.publicURL = publicURL
	d.w.Twilio.SetInboundURL(publicURL + pathInbound)
	d.m = NewMain(cfg, log, demoTuning(ln))
	// The daemon gets its own context so that Ctrl-C ends the story and the
	// page first and the daemon drains last.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- d.m.Run(runCtx) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("demo: the daemon stopped with: %w", err)
			}
			return nil
		case <-time.After(demoShutdownLimit):
			return fmt.Errorf("demo: the daemon did not stop within %s", demoShutdownLimit)
		}
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	err = awaitCond(ctx, demoStartLimit, "the daemon to be ready (GET /readyz)", func() (bool, error) {
		select {
		case err := <-done:
			done <- err
			return false, fmt.Errorf("the daemon exited: %v", err)
		default:
		}
		admin := d.m.AdminAddr()
		if admin == "" {
			return false, nil
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/readyz", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("demo: starting switchboard: %w", err)
	}
	return stop, nil
}

// demoTuning: frequent background passes so the story takes seconds.
func demoTuning(ln net.Listener) tuning {
	return tuning{
		Listener:       ln,
		Store:          store.Options{JobTimeout: 3 * time.Second, RetryBase: 100 * time.Millisecond, RetryMax: time.Second},
		PollInterval:   demoPollInterval,
		StreamRetryMin: 50 * time.Millisecond,
		OutageRetry:    200 * time.Millisecond,
	}
}

// awaitCond polls cond until it holds, it fails, limit passes or ctx ends.
func awaitCond(ctx context.Context, limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-deadline.C:
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		case <-tick.C:
		}
	}
}
