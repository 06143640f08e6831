package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// syncBuffer is a bytes.Buffer the demo writes to while the test reads.
type syncBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoStory: `switchboard demo` plays every step, prints each step's
// outcome with record Ids, exits 0 and removes its temporary folder.
func TestDemoStory(t *testing.T) {
	var stdout, stderr syncBuffer
	start := time.Now()
	code := execute(context.Background(), []string{"demo"}, &stdout, &stderr, nil)
	out := stdout.String()
	t.Logf("demo took %s; stderr:\n%s", time.Since(start).Round(time.Millisecond), stderr.String())
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	if strings.Contains(stderr.String(), "ERROR") {
		t.Errorf("a clean run logged errors:\n%s", stderr.String())
	}
	id := `[0-9A-Za-z]{18}`
	sid := `SM[0-9a-f]{32}`
	for _, want := range []string{
		`PushTopic +SwitchboardTasks, SwitchboardConversations, SwitchboardChat`,
		`External_Channel__c Contact.MobilePhone, Contact.Phone, Lead.MobilePhone, Lead.Phone, Account.Phone`,
		`Contact +` + id + `  Ada Lovelace, MobilePhone = "\(415\) 555-0100"`,
		`Step 1 of 5: an agent texts a customer`,
		`Task 00T[0-9A-Za-z]{15}  Message_Type__c = Outbound, Message_Status__c = Pending`,
		`Message_Status__c: Pending -> .*Delivered`,
		`Message_Sid__c = ` + sid,
		`from \+14155550000 to \+14155550100 .* status delivered`,
		`It opened Conversation__c a0X[0-9A-Za-z]{15} C-\d+: Message_Recipient__c = \+14155550100, Record_Id__c = 003`,
		`Step 2 of 5: the customer replies`,
		`switchboard answers 200 with an empty <Response/>`,
		`Message_Type__c = Inbound, Message_Status__c = Received, Subject = "SMS from \+14155550100"`,
		`WhoId = 003[0-9A-Za-z]{15} \(Ada\), Conversation__c = a0X[0-9A-Za-z]{15} \(the same conversation\)`,
		`Step 3 of 5: a stranger texts`,
		`Record_Id__c empty \(unbound\), owned by queue Support_Queue`,
		`An agent creates Lead 00Q[0-9A-Za-z]{15}`,
		`Record_Id__c = 00Q[0-9A-Za-z]{15}`,
		`moves the history: Task 00T[0-9A-Za-z]{15} WhoId = 00Q[0-9A-Za-z]{15} \(Grace Hopper\)`,
		`Step 4 of 5: the customer texts STOP`,
		`UniqueId__c = \+14155550100\|a0Z[0-9A-Za-z]{15}`,
		`Active__c = false, Keyword__c = STOP`,
		`Message_Status__c: Pending -> Error`,
		`Error_Description__c: ".*has opted out of channel`,
		`Twilio was never asked to send it`,
		`Step 5 of 5: a lost delivery receipt is recovered by polling`,
		`Twilio lost all [1-9]\d* of its status callbacks`,
		`Message_Status_Check_Date__c = 20\d\d-`,
		`All 5 steps observed in`,
		`heartbeat row: Switchboard_Status__c a14[0-9A-Za-z]{15}  Instance__c = \S+-\d+-\d{8}T\d{6}Z-[0-9a-f]{6}, Stream_Subscribed__c = true`,
		`      ✓ streaming: subscribed to /topic/SwitchboardTasks and /topic/SwitchboardConversations`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("the transcript has no line matching %s", want)
		}
	}
	for i := 1; i <= 5; i++ {
		if n := strings.Count(out, fmt.Sprintf("Step %d of 5", i)); n != 1 {
			t.Errorf("step %d announced %d times", i, n)
		}
	}
	if n := strings.Count(out, "  OK ("); n != 5 {
		t.Errorf("%d steps reported OK, want 5", n)
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", out)
	}
	m := regexp.MustCompile(`SQLite store in (\S+),`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("the transcript does not say where the store is")
	}
	if _, err := os.Stat(m[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo's folder %s is still there (%v)", m[1], err)
	}
}

// TestDemoStepFails: a world broken before the story makes the demo exit
// 1 and name the first step it could not observe.
func TestDemoStepFails(t *testing.T) {
	cases := []struct {
		name  string
		hook  func(*simWorld)
		step  string
		cause string
	}{
		{"Twilio refuses every send", func(w *simWorld) { w.Twilio.BlockRegion("+") },
			"step 1 (an agent texts a customer)", "ended Failed instead of Delivered: 21408"},
		{"the stranger's number is already a Contact's", func(w *simWorld) {
			if _, err := w.Org.Insert("Contact", map[string]any{"LastName": "Known", "MobilePhone": demoStranger}); err != nil {
				t.Error(err)
			}
		}, "step 3 (a stranger texts; an agent binds the conversation to a new Lead)", "nothing should match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := execute(withDemoHook(context.Background(), c.hook), []string{"demo"}, &stdout, &stderr, nil)
			if code != exitFailure {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailure, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), c.step) || !strings.Contains(stderr.String(), c.cause) {
				t.Errorf("stderr does not name %q with %q:\n%s", c.step, c.cause, stderr.String())
			}
			if !strings.Contains(stdout.String(), "FAILED: demo: "+c.step) {
				t.Errorf("the transcript does not end with the failure:\n%s", stdout.String())
			}
			if strings.Contains(stdout.String(), "All 5 steps observed") {
				t.Error("the transcript claims success")
			}
		})
	}
}

// TestDemoBadFlags: what each bad invocation gets.
func TestDemoBadFlags(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "--story=false"}, exitBadInput, "--story=false leaves nothing to do without --serve"},
		{[]string{"demo", "--serve", "--addr", busy.Addr().String()}, exitBadInput, "--addr " + busy.Addr().String()},
		{[]string{"demo", "--serve", "--addr", "not an address"}, exitBadInput, "--addr not an address"},
		{[]string{"demo", "extra"}, exitBadInput, `unknown command "extra"`},
		{[]string{"demo", "--pace", "-1s"}, exitBadInput, "--pace -1s: give a pause between 0s and 1m"},
		{[]string{"demo", "--pace", "soon"}, exitBadInput, `invalid argument "soon" for "--pace"`},
	}
	for _, c := range cases {
		var stdout, stderr syncBuffer
		if code := execute(context.Background(), c.args, &stdout, &stderr, nil); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// servedDemo runs `switchboard demo --serve` in-process until the test
// ends and returns the page's base URL once it is up (after the story,
// unless story is false).
func servedDemo(t *testing.T, story bool) string {
	t.Helper()
	return servedDemoWith(t, context.Background(), story, exitOK)
}

// servedDemoWith is servedDemo on ctx (which may carry a demo hook),
// expecting exit code want after Ctrl-C.
func servedDemoWith(t *testing.T, parent context.Context, story bool, want int) string {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(parent)
	done := make(chan int, 1)
	args := []string{"demo", "--serve", "--addr", "127.0.0.1:0", "--pace=0", fmt.Sprintf("--story=%t", story)}
	go func() { done <- execute(ctx, args, &stdout, &stderr, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != want {
				t.Errorf("demo --serve exited %d after Ctrl-C, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout.String(), stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("demo --serve did not stop within 30 s of Ctrl-C")
		}
	})
	re := regexp.MustCompile(`Serving (http://\S+) until Ctrl-C`)
	deadline := time.Now().Add(40 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("demo --serve exited %d before serving\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo --serve did not serve within 40 s\nstdout:\n%s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func postJSON(t *testing.T, u, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", u, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

type pageState struct {
	Conversations []webConversation
	Tasks         []webTask
	OptIns        []webOptIn
	Transcript    []string
}

func getState(t *testing.T, base string) pageState {
	t.Helper()
	resp, err := http.Get(base + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st pageState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (st pageState) task(match func(webTask) bool) (webTask, bool) {
	for _, tk := range st.Tasks {
		if match(tk) {
			return tk, true
		}
	}
	return webTask{}, false
}

// TestDemoPageAPI: the page's endpoints against the seeded world: the
// phone texts through Twilio's webhook, the agent's box creates a Pending
// Task, and each bad request gets its own answer and changes nothing.
func TestDemoPageAPI(t *testing.T) {
	base := servedDemo(t, false)

	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="phone-form"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header)
	}
	if regexp.MustCompile(`(src|href)=["']?(https?:)?//`).Match(page) {
		t.Error("the page loads something from another host")
	}
	if resp, _ := http.Get(base + "/nothing"); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing: %v", resp)
	}

	bad := []struct {
		path, ctype, body string
		status            int
		want              string
	}{
		{"/api/phone", "application/x-www-form-urlencoded", "from=%2B14155550123&body=hi", http.StatusUnsupportedMediaType, "send JSON"},
		{"/api/phone", "application/json", `{"from": "12", "body": "hi"}`, http.StatusBadRequest, `"12" is not a phone number`},
		{"/api/phone", "application/json", `{"from": "+14155550123", "body": "  "}`, http.StatusBadRequest, "type a message"},
		{"/api/phone", "application/json", `{"from": "+1 415 555 0000", "body": "hi"}`, http.StatusBadRequest, "the channel's own number"},
		{"/api/phone", "application/json", `{"from": "+14155550123", "body": "hi", "to": "+1"}`, http.StatusBadRequest, `unknown field "to"`},
		{"/api/phone", "application/json", `{"from": "+14155550123", "body": "` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, "larger than"},
		{"/api/agent", "application/json", `{"conversation": "", "body": "hi"}`, http.StatusBadRequest, "pick a conversation"},
		{"/api/agent", "application/json", `{"conversation": "a0X000000000000AAA", "body": "hi"}`, http.StatusNotFound, `no Conversation__c "a0X000000000000AAA"`},
		{"/api/agent", "application/json", `not json`, http.StatusBadRequest, "not the JSON"},
	}
	for _, b := range bad {
		status, out := postJSON(t, base+b.path, b.ctype, b.body)
		if status != b.status || !strings.Contains(fmt.Sprint(out["error"]), b.want) {
			t.Errorf("POST %s %.60s: %d %v; want %d and %q", b.path, b.body, status, out, b.status, b.want)
		}
	}
	if st := getState(t, base); len(st.Tasks) != 0 || len(st.Conversations) != 0 {
		t.Fatalf("bad requests left records: %+v", st)
	}

	// A customer texts, typing their number as people do.
	status, out := postJSON(t, base+"/api/phone", "application/json", `{"from": "(415) 555-0123", "body": "Is my order on its way?"}`)
	if status != 200 || out["from"] != "+14155550123" || !strings.HasPrefix(fmt.Sprint(out["sid"]), "SM") || out["webhookStatus"] != 200.0 {
		t.Fatalf("phone: %d %v", status, out)
	}
	var conv string
	sfdctest.Eventually(t, 15*time.Second, "the inbound Task on the page", func() bool {
		tk, ok := getState(t, base).task(func(tk webTask) bool { return tk.SID == out["sid"] })
		conv = tk.Conversation
		return ok && tk.Status == "Received" && tk.Type == "Inbound" && tk.Description == "Is my order on its way?"
	})

	// The agent answers, and sends an empty message by mistake.
	for _, c := range []struct{ body, status, errText string }{
		{"Yes: it arrives tomorrow.", "Delivered", ""},
		{"", "Error", "The message body (Description) is empty."},
	} {
		status, out := postJSON(t, base+"/api/agent", "application/json", fmt.Sprintf(`{"conversation": %q, "body": %q}`, conv, c.body))
		if status != http.StatusCreated {
			t.Fatalf("agent: %d %v", status, out)
		}
		sfdctest.Eventually(t, 15*time.Second, "the agent's Task "+c.status, func() bool {
			tk, ok := getState(t, base).task(func(tk webTask) bool { return tk.ID == out["taskId"] })
			return ok && tk.Status == c.status && tk.Conversation == conv && strings.Contains(tk.Error, c.errText)
		})
	}
}

// TestDemoServeAfterAFailedStep: with --serve a failed step leaves the
// page up, showing what went wrong, and Ctrl-C then exits 1.
func TestDemoServeAfterAFailedStep(t *testing.T) {
	base := servedDemoWith(t, withDemoHook(context.Background(), func(w *simWorld) { w.Twilio.BlockRegion("+") }), true, exitFailure)
	st := getState(t, base)
	tk, ok := st.task(func(tk webTask) bool { return tk.Type == "Outbound" })
	if !ok || tk.Status != "Failed" || !strings.HasPrefix(tk.Error, "21408") {
		t.Errorf("the page shows the agent's Task as %+v, want Failed with 21408", tk)
	}
	if !strings.Contains(strings.Join(st.Transcript, "\n"), "FAILED: demo: step 1 (an agent texts a customer)") {
		t.Errorf("the page's transcript does not show the failure:\n%s", strings.Join(st.Transcript, "\n"))
	}
}

// chromiumPath finds a Chromium to drive; without one the test skips,
// except in CI where it must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: apt-get install -y chromium (Debian) to run the page test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestDemoPageInChromium: a real browser on the --serve page, after the
// story: the story's records are shown; a text sent from the page's phone
// form appears as an inbound Task, live; the agent's box sends a reply
// that is shown Delivered. SB_DEMO_SCREENSHOT=file.png saves the page.
func TestDemoPageInChromium(t *testing.T) {
	exe := chromiumPath(t)
	base := servedDemo(t, true)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second),
			chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#phone-form"))); err != nil {
		t.Fatal(err)
	}
	poll("the story's records on the page (two conversations, the opt-out, the blocked Task, the transcript)",
		`document.querySelectorAll(".conv").length === 2 &&
		 document.querySelector("#optins [data-optin-id]") !== null &&
		 document.querySelector('#tasks tr[data-status="Error"]') !== null &&
		 document.getElementById("story").textContent.includes("All 5 steps observed")`)

	// Markup in a customer's text is shown as text, never run.
	const text = "Hello from the browser's phone <b>not bold</b>"
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#phone-from"), "(415) 555-0177"),
		chromedp.SendKeys(chromedp.CSS("#phone-body"), text),
		chromedp.Click(chromedp.CSS("#phone-send")),
	); err != nil {
		t.Fatal(err)
	}
	poll("the text sent from the page's phone, shown as a Received inbound Task",
		fmt.Sprintf(`[...document.querySelectorAll('#tasks tr[data-type="Inbound"]')].some(r =>
			r.dataset.status === "Received" && r.textContent.includes(%q))`, text))
	poll("the customer's markup shown as text in the thread",
		fmt.Sprintf(`document.querySelector(".msg .body b") === null &&
			[...document.querySelectorAll(".msg.Inbound .body")].some(b => b.textContent === %q)`, text))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#phone-result")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(result, "from +14155550177") || !strings.Contains(result, "answered Twilio 200") {
		t.Errorf("the phone's result line says %q", result)
	}

	const reply = "Thanks, an agent will call you."
	picked, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const s = document.getElementById("agent-conv");
		const o = [...s.options].find(o => o.text.includes("+14155550177"));
		if (!o) return false; s.value = o.value; return o.value; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the new conversation is not in the agent's list: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#agent-body"), reply), chromedp.Click(chromedp.CSS("#agent-send"))); err != nil {
		t.Fatal(err)
	}
	poll("the agent's reply, shown Delivered in the conversation",
		fmt.Sprintf(`[...document.querySelectorAll('.conv[data-conversation-id=%q] .msg.Outbound')].some(m =>
			m.textContent.includes(%q) && m.textContent.includes("Delivered"))`, picked, reply))

	if file := os.Getenv("SB_DEMO_SCREENSHOT"); file != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
}

// TestDemoPageOnlyForLoopbackHosts: the page has no login, so a web site
// must not reach it through DNS rebinding (its own name resolved to
// 127.0.0.1): a request whose Host is not a loopback name or address is
// refused, whatever the path.
func TestDemoPageOnlyForLoopbackHosts(t *testing.T) {
	base := servedDemo(t, false)
	port := base[strings.LastIndex(base, ":")+1:]
	for host, allowed := range map[string]bool{
		"127.0.0.1:" + port:          true,
		"localhost:" + port:          true,
		"[::1]:" + port:              true,
		"localhost":                  true,
		"rebind.example.com:" + port: false,
		"127.0.0.1.nip.io:" + port:   false,
	} {
		for _, c := range []struct {
			method, path, body string
			status             int // when the Host is allowed
		}{
			{http.MethodGet, "/", "", http.StatusOK},
			{http.MethodGet, "/api/state", "", http.StatusOK},
			{http.MethodPost, "/api/agent", `{"conversation": "", "body": "hi"}`, http.StatusBadRequest}, // "pick a conversation"
		} {
			want := c.status
			if !allowed {
				want = http.StatusForbidden
			}
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			req.Host = host
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (!allowed && !strings.Contains(string(b), "only for localhost")) {
				t.Errorf("Host %q %s %s: %d %.200s, want %d", host, c.method, c.path, resp.StatusCode, b, want)
			}
		}
	}
}

// TestDemoWarnsOffLoopback: --addr on an address other machines can reach
// is allowed but warned about before the page listens. (192.0.2.1 is a
// documentation address this machine does not have, so nothing listens.)
func TestDemoWarnsOffLoopback(t *testing.T) {
	var stdout, stderr syncBuffer
	code := execute(context.Background(), []string{"demo", "--serve", "--addr", "192.0.2.1:0", "--story=false"}, &stdout, &stderr, nil)
	if code != exitBadInput || !strings.Contains(stderr.String(), "--addr 192.0.2.1:0 is not a loopback address") {
		t.Errorf("exit %d, stderr %q; want the warning, then exit %d for an address this machine lacks", code, stderr.String(), exitBadInput)
	}
	var quiet syncBuffer
	execute(context.Background(), []string{"demo", "--serve", "--addr", "not an address"}, &stdout, &quiet, nil)
	if strings.Contains(quiet.String(), "not a loopback address") {
		t.Errorf("a malformed --addr is bad input, not a warning: %q", quiet.String())
	}
}
