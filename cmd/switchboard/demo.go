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

	"github.com/switchboard/switchboard/sfdc"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio/twiliotest"
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
	d.w.Twilio.SetInboundURL(publicURL + "/twilio/inbound")
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

func (d *demoRun) intro(f demoFlags) {
	o := d.out
	o.printf("switchboard demo: the whole flow against a simulated Salesforce org and a simulated Twilio.")
	o.printf("Everything runs in this process on 127.0.0.1; no account, no network.\n")
	o.printf("The simulated world, as after \"switchboard setup\":")
	o.printf("  Salesforce org     %s", d.w.Org.URL())
	o.printf("  Twilio             %s  (account %s, number %s)", d.w.Twilio.URL(), simAccountSID, simNumber)
	o.printf("  switchboard        %s  (the real daemon; SQLite store in %s, removed at the end)", d.publicURL, d.dir)
	o.printf("  Channel__c         %s  %q, %s, Active__c = true, Queue_Name__c = %s", d.w.ChannelID, simChannelName, simNumber, simQueueName)
	o.printf("  PushTopic          %s", strings.Join(d.orgTopics(), ", "))
	o.printf("  External_Channel__c %s", strings.Join(d.orgExternalChannels(), ", "))
	o.printf("  Contact            %s  Ada Lovelace, MobilePhone = %q", d.contact, demoCustomerTyped)
	o.printf("  Lead               %s  Katherine Johnson, MobilePhone = %q", d.seedLead, demoLeadTyped)
	o.printf("  Message_Template__c %s  %q for Contacts, with a German (de) translation\n", d.template, demoTemplateName)
}

// orgTopics names the org's PushTopics in SPEC §2 order, as setup left
// them.
func (d *demoRun) orgTopics() []string {
	var out []string
	for _, name := range sfdc.SpecTopicNames() {
		for _, r := range d.w.Org.Records("PushTopic") {
			if sfStr(r["Name"]) == name {
				out = append(out, name)
			}
		}
	}
	return out
}

// orgExternalChannels names the org's External Channels, Object.Field.
func (d *demoRun) orgExternalChannels() []string {
	var out []string
	for _, r := range d.w.Org.Records("External_Channel__c") {
		out = append(out, sfStr(r["Object_API_Name__c"])+"."+sfStr(r["Field_API_Name__c"]))
	}
	return out
}

func (d *demoRun) play(ctx context.Context, pace time.Duration) error {
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"an agent texts a customer", d.stepSend},
		{"the customer replies", d.stepReply},
		{"a stranger texts; an agent binds the conversation to a new Lead", d.stepStranger},
		{"the customer texts STOP", d.stepStop},
		{"a lost delivery receipt is recovered by polling", d.stepLostCallback},
	}
	for i, s := range steps {
		if i > 0 && pace > 0 {
			select {
			case <-ctx.Done():
				return &stepError{n: i + 1, title: s.title, err: errInterrupted}
			case <-time.After(pace):
			}
		}
		start := time.Now()
		d.out.printf("Step %d of %d: %s", i+1, len(steps), s.title)
		if err := s.run(ctx); err != nil {
			return &stepError{n: i + 1, title: s.title, err: err}
		}
		d.out.printf("  OK (%.1f s)\n", time.Since(start).Seconds())
	}
	return nil
}

// await is awaitCond bounded by the step limit.
func (d *demoRun) await(ctx context.Context, what string, cond func() (bool, error)) error {
	return awaitCond(ctx, demoStepLimit, what, cond)
}

// agentTask creates an outbound Pending Task, as a user, the chat
// component or a Flow does (SPEC §1: that is the request to send).
func (d *demoRun) agentTask(fields map[string]any) (string, error) {
	rec := map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Subject": "SMS"}
	for k, v := range fields {
		rec[k] = v
	}
	id, err := d.w.Org.Insert("Task", rec)
	if err != nil {
		return "", fmt.Errorf("creating the Task: %w", err)
	}
	return id, nil
}

func (d *demoRun) record(object, id string) map[string]any {
	rec, _ := d.w.Org.Get(object, id)
	return rec
}

// awaitStatus waits for the Task to reach want, printing each status it
// is seen in; a final status other than want fails at once.
func (d *demoRun) awaitStatus(ctx context.Context, taskID, want string) (map[string]any, error) {
	seen := []string{}
	var task map[string]any
	err := d.await(ctx, "Task "+taskID+" to be "+want, func() (bool, error) {
		task = d.record("Task", taskID)
		if task == nil {
			return false, fmt.Errorf("Task %s was deleted", taskID)
		}
		st := sfStr(task["Message_Status__c"])
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st == want {
			return true, nil
		}
		switch st {
		case "Error", "Failed", "Undelivered", "Canceled":
			return false, fmt.Errorf("Task %s ended %s instead of %s: %s", taskID, st, want, sfStr(task["Error_Description__c"]))
		}
		return false, nil
	})
	d.out.printf("      Message_Status__c: %s", strings.Join(seen, " -> "))
	return task, err
}

func (d *demoRun) stepSend(ctx context.Context) error {
	// The text of a template, with a merge field the engine fills.
	template := "Hi {!Contact.FirstName}, your order #1042 has shipped. Reply here if you have any questions."
	body := "Hi Ada, your order #1042 has shipped. Reply here if you have any questions."
	d.out.printf("  An agent creates a Task on the Contact (WhoId, no conversation yet) from a template:")
	id, err := d.agentTask(map[string]any{"WhoId": d.contact, "Description": template})
	if err != nil {
		return err
	}
	d.out.printf("    Task %s  Message_Type__c = Outbound, Message_Status__c = Pending", id)
	d.out.printf("      Description: %q", template)
	d.out.printf("  switchboard sends it through Twilio and Twilio reports its progress:")
	task, err := d.awaitStatus(ctx, id, "Delivered")
	if err != nil {
		return err
	}
	sid := sfStr(task["Message_Sid__c"])
	msg, ok := d.w.Twilio.Message(sid)
	if !ok || msg.To != demoCustomer || msg.From != simNumber || msg.Body != body {
		return fmt.Errorf("Twilio holds no message %q from %s to %s with the Task's body (got %+v)", sid, simNumber, demoCustomer, msg)
	}
	if got := sfStr(task["Description"]); got != body {
		return fmt.Errorf("the Task's Description is %q after sending, want the merged text %q", got, body)
	}
	d.out.printf("      Description: %q (merge field filled)", body)
	d.out.printf("      Message_Sid__c = %s, Subject = %q", sid, sfStr(task["Subject"]))
	d.out.printf("      Message_Send_Date__c = %s, Message_Status_Check_Date__c = %s", sfStr(task["Message_Send_Date__c"]), sfStr(task["Message_Status_Check_Date__c"]))
	d.adaConv = sfStr(task["Conversation__c"])
	conv := d.record("Conversation__c", d.adaConv)
	if conv == nil {
		return fmt.Errorf("the Task is not linked to a conversation (Conversation__c = %q)", d.adaConv)
	}
	if sfStr(conv["Message_Recipient__c"]) != demoCustomer || sfStr(conv["Record_Id__c"]) != d.contact {
		return fmt.Errorf("conversation %s is for %q bound to %q, want %s bound to %s", d.adaConv,
			conv["Message_Recipient__c"], conv["Record_Id__c"], demoCustomer, d.contact)
	}
	d.out.printf("  Twilio: %s from %s to %s (the Contact's %q), status %s", sid, msg.From, msg.To, demoCustomerTyped, msg.Status)
	d.out.printf("  It opened Conversation__c %s %s: Message_Recipient__c = %s, Record_Id__c = %s (Ada)",
		d.adaConv, sfStr(conv["Name"]), demoCustomer, d.contact)
	return nil
}

// inboundTask waits for the Task of an inbound message by its SID.
func (d *demoRun) inboundTask(ctx context.Context, sid string) (map[string]any, error) {
	var task map[string]any
	err := d.await(ctx, "the inbound Task for "+sid, func() (bool, error) {
		rows, err := d.w.Org.Query("SELECT Id, Subject, Description, WhoId, Conversation__c, Message_Type__c, Message_Status__c, Message_Sid__c FROM Task WHERE Message_Sid__c = '" + sid + "'")
		if err != nil {
			return false, err
		}
		if len(rows) > 0 {
			task = rows[0]
		}
		return len(rows) > 0, nil
	})
	return task, err
}

// text is a customer texting the channel's number: Twilio posts the
// signed webhook to the daemon, exactly as it would in production.
func (d *demoRun) text(ctx context.Context, from, body string) (string, error) {
	res, err := d.w.Twilio.SendInbound(ctx, twiliotest.Inbound{From: from, To: simNumber, Body: body})
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK || res.WouldReply() {
		return "", fmt.Errorf("switchboard answered Twilio's webhook with %d %q (want 200 and an empty <Response/>)", res.StatusCode, res.Body)
	}
	d.out.printf("    Twilio posts the signed webhook for %s; switchboard answers %d with an empty <Response/> (no auto-reply)", res.MessageSID, res.StatusCode)
	return res.MessageSID, nil
}

// textIn sends a customer's text through the simulated Twilio, waits for
// its inbound Task and prints it.
func (d *demoRun) textIn(ctx context.Context, from, body string) (map[string]any, error) {
	sid, err := d.text(ctx, from, body)
	if err != nil {
		return nil, err
	}
	task, err := d.inboundTask(ctx, sid)
	if err != nil {
		return nil, err
	}
	d.printInbound(task)
	return task, nil
}

func (d *demoRun) printInbound(task map[string]any) {
	d.out.printf("    Task %s  Message_Type__c = %s, Message_Status__c = %s, Subject = %q",
		sfStr(task["Id"]), sfStr(task["Message_Type__c"]), sfStr(task["Message_Status__c"]), sfStr(task["Subject"]))
	d.out.printf("      Description: %q", sfStr(task["Description"]))
}

func (d *demoRun) stepReply(ctx context.Context) error {
	body := "Thanks! Can it go to my office instead?"
	d.out.printf("  Ada texts back from %s: %q", demoCustomer, body)
	task, err := d.textIn(ctx, demoCustomer, body)
	if err != nil {
		return err
	}
	if who := sfStr(task["WhoId"]); who != d.contact {
		return fmt.Errorf("the reply's Task has WhoId %q, want the Contact %s", who, d.contact)
	}
	if c := sfStr(task["Conversation__c"]); c != d.adaConv {
		return fmt.Errorf("the reply went to conversation %q, want the open one %s", c, d.adaConv)
	}
	d.out.printf("      WhoId = %s (Ada), Conversation__c = %s (the same conversation)", d.contact, d.adaConv)
	return nil
}

func (d *demoRun) stepStranger(ctx context.Context) error {
	body := "Hi, do you ship to Canada?"
	d.out.printf("  A number no Contact or Lead has, %s, texts %q", demoStranger, body)
	task, err := d.textIn(ctx, demoStranger, body)
	if err != nil {
		return err
	}
	d.strangerConv = sfStr(task["Conversation__c"])
	conv := d.record("Conversation__c", d.strangerConv)
	switch {
	case conv == nil:
		return fmt.Errorf("the stranger's Task has no conversation")
	case d.strangerConv == d.adaConv:
		return fmt.Errorf("the stranger's message landed in Ada's conversation %s", d.adaConv)
	case sfStr(conv["Record_Id__c"]) != "" || sfStr(task["WhoId"]) != "":
		return fmt.Errorf("the stranger's conversation is bound to %q (WhoId %q): nothing should match", conv["Record_Id__c"], task["WhoId"])
	case sfStr(conv["OwnerId"]) != d.w.QueueID:
		return fmt.Errorf("conversation %s is owned by %q, want the channel's queue %s (%s)", d.strangerConv, conv["OwnerId"], simQueueName, d.w.QueueID)
	}
	d.out.printf("      WhoId empty; Conversation__c %s %s: Record_Id__c empty (unbound), owned by queue %s",
		d.strangerConv, sfStr(conv["Name"]), simQueueName)

	d.lead, err = d.w.Org.Insert("Lead", map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Company": "Hopper Freight", "MobilePhone": demoStrangerTyped})
	if err != nil {
		return fmt.Errorf("creating the Lead: %w", err)
	}
	d.out.printf("  An agent creates Lead %s (Grace Hopper, Hopper Freight, MobilePhone = %q)", d.lead, demoStrangerTyped)
	if err := d.w.Org.Update("Conversation__c", d.strangerConv, map[string]any{"Record_Id__c": d.lead}); err != nil {
		return fmt.Errorf("binding the conversation: %w", err)
	}
	d.out.printf("  and binds the conversation to it: Conversation__c %s Record_Id__c = %s", d.strangerConv, d.lead)
	if err := d.await(ctx, "the conversation's Tasks to move to the Lead", func() (bool, error) {
		return sfStr(d.record("Task", sfStr(task["Id"]))["WhoId"]) == d.lead, nil
	}); err != nil {
		return err
	}
	d.out.printf("  switchboard moves the history: Task %s WhoId = %s (Grace Hopper)", sfStr(task["Id"]), d.lead)
	return nil
}

func (d *demoRun) stepStop(ctx context.Context) error {
	d.out.printf("  Ada texts %q", "STOP")
	sid, err := d.text(ctx, demoCustomer, "STOP")
	if err != nil {
		return err
	}
	key := sbsync.OptInKey(demoCustomer, d.w.ChannelID)
	var opt map[string]any
	if err := d.await(ctx, "Opt_In__c "+key+" to be inactive", func() (bool, error) {
		rows, err := d.w.Org.Query("SELECT Id, UniqueId__c, Active__c, Keyword__c, Opt_Out_Date_Time__c FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
		if err != nil || len(rows) != 1 {
			return false, err
		}
		opt = rows[0]
		return opt["Active__c"] == false, nil
	}); err != nil {
		return err
	}
	d.out.printf("    Opt_In__c %s  UniqueId__c = %s", sfStr(opt["Id"]), key)
	d.out.printf("      Active__c = false, Keyword__c = %s, Opt_Out_Date_Time__c = %s", sfStr(opt["Keyword__c"]), sfStr(opt["Opt_Out_Date_Time__c"]))
	if _, err := d.inboundTask(ctx, sid); err != nil {
		return err
	}
	before := d.messagesTo(demoCustomer)

	body := "Your delivery address is updated."
	d.out.printf("  An agent answers in Ada's conversation: %q", body)
	id, err := d.agentTask(map[string]any{"Conversation__c": d.adaConv, "WhoId": d.contact, "Description": body})
	if err != nil {
		return err
	}
	d.out.printf("    Task %s  Message_Status__c = Pending", id)
	task, err := d.awaitStatus(ctx, id, "Error")
	if err != nil {
		return err
	}
	desc := sfStr(task["Error_Description__c"])
	if !strings.Contains(desc, "opted out") {
		return fmt.Errorf("Task %s is Error with Error_Description__c %q, which does not say the customer opted out", id, desc)
	}
	if after := d.messagesTo(demoCustomer); after != before {
		return fmt.Errorf("Twilio got %d new messages to %s after the opt-out", after-before, demoCustomer)
	}
	d.out.printf("      Error_Description__c: %q", desc)
	d.out.printf("  Twilio was never asked to send it.")
	return nil
}

// messagesTo counts the messages Twilio was asked to send to a number.
func (d *demoRun) messagesTo(to string) int {
	n := 0
	for _, m := range d.w.Twilio.Messages() {
		if m.Direction != "inbound" && m.To == to {
			n++
		}
	}
	return n
}

func (d *demoRun) stepLostCallback(ctx context.Context) error {
	// Earlier messages' receipts must not be the ones dropped.
	settle, cancel := context.WithTimeout(ctx, demoStepLimit)
	defer cancel()
	if err := d.w.Twilio.Settle(settle); err != nil {
		return fmt.Errorf("waiting for earlier status callbacks: %w", err)
	}
	d.w.Twilio.DropCallbacks(1000)
	defer d.w.Twilio.DropCallbacks(0)
	d.out.printf("  From now on Twilio's status callbacks are lost (as when the webhook URL is unreachable).")
	body := "Yes, we ship to Canada: 3 to 5 business days."
	d.out.printf("  An agent answers Grace in her conversation: %q", body)
	id, err := d.agentTask(map[string]any{"Conversation__c": d.strangerConv, "WhoId": d.lead, "Description": body})
	if err != nil {
		return err
	}
	d.out.printf("    Task %s  Message_Status__c = Pending", id)
	fetches := d.w.Twilio.Stats().Fetches
	task, err := d.awaitStatus(ctx, id, "Delivered")
	if err != nil {
		return err
	}
	sid := sfStr(task["Message_Sid__c"])
	dropped, delivered := 0, 0
	for _, cb := range d.w.Twilio.Callbacks() {
		if cb.Params.Get("MessageSid") != sid {
			continue
		}
		if cb.Dropped {
			dropped++
		} else {
			delivered++
		}
	}
	if dropped == 0 || delivered != 0 {
		return fmt.Errorf("Twilio dropped %d and delivered %d status callbacks for %s: the step did not lose them", dropped, delivered, sid)
	}
	if d.w.Twilio.Stats().Fetches == fetches {
		return fmt.Errorf("Task %s is Delivered but switchboard never fetched %s from Twilio", id, sid)
	}
	d.out.printf("      Message_Sid__c = %s; Twilio lost all %d of its status callbacks", sid, dropped)
	d.out.printf("  switchboard's poller (engine.status_poll_after = %s here; 15m by default) asked Twilio:", demoPollAfter)
	d.out.printf("      Message_Status_Check_Date__c = %s", sfStr(task["Message_Status_Check_Date__c"]))
	return nil
}

// summary counts what the story left in the org.
func (d *demoRun) summary() {
	tasks := d.w.Org.Records("Task")
	in := 0
	for _, t := range tasks {
		if sfStr(t["Message_Type__c"]) == "Inbound" {
			in++
		}
	}
	d.out.printf("The org now holds %d Conversation__c, %d Tasks (%d outbound, %d inbound) and %d Opt_In__c.",
		len(d.w.Org.Records("Conversation__c")), len(tasks), len(tasks)-in, in, len(d.w.Org.Records("Opt_In__c")))
	for _, r := range d.w.Org.Records(sfdc.StatusObject) {
		d.out.printf("The daemon's heartbeat row: %s %s  Instance__c = %s, Stream_Subscribed__c = %v, Last_Heartbeat__c = %s; Checks__c:",
			sfdc.StatusObject, sfStr(r["Id"]), sfStr(r["Instance__c"]), r["Stream_Subscribed__c"], sfStr(r["Last_Heartbeat__c"]))
		for _, l := range strings.Split(sfStr(r["Checks__c"]), "\n") {
			d.out.printf("      %s", l)
		}
	}
	d.out.printf("Next: \"switchboard demo --serve\" to text from a browser; \"switchboard setup\" against your own org.")
}

// sfStr renders a record field ("" for null).
func sfStr(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
