package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/sfdc/metadata/browser"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

const api = "/services/data/v62.0"

// orgClient is a bare REST client for the test's own writes.
type orgClient struct {
	t    *testing.T
	base string
	tok  string
}

func login(ctx context.Context, base string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sfdctest.DefaultClientID}, "client_secret": {sfdctest.DefaultClientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("login: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

func (c *orgClient) do(method, path string, body any, into any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func (c *orgClient) create(object string, fields map[string]any) string {
	c.t.Helper()
	var res struct {
		ID string `json:"id"`
	}
	if st := c.do(http.MethodPost, api+"/sobjects/"+object, fields, &res); st != 201 {
		c.t.Fatalf("create %s: %d", object, st)
	}
	return res.ID
}

func TestOrgProxyAddsTheSessionAndKeepsTokensAway(t *testing.T) {
	org := sfdctest.Start(t)
	u, _ := url.Parse(org.URL())
	srv := httptest.NewServer(browser.OrgProxy(u, func(ctx context.Context) (string, error) { return login(ctx, org.URL()) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + api + "/ui-api/object-info/Task")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("object-info through the proxy: %d, want 200 with the proxy's session", resp.StatusCode)
	}
	for _, p := range []string{"/services/oauth2/token", "/", "/services/apexrest/x"} {
		resp, err := http.Post(srv.URL+p, "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s through the proxy: %d, want 404", p, resp.StatusCode)
		}
	}
	failing := httptest.NewServer(browser.OrgProxy(u, func(context.Context) (string, error) { return "", fmt.Errorf("org unreachable") }))
	defer failing.Close()
	resp, err = http.Get(failing.URL + api + "/ui-api/object-info/Task")
	if err != nil {
		t.Fatal(err)
	}
	var e []struct{ ErrorCode, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 502 || len(e) != 1 || !strings.Contains(e[0].Message, "org unreachable") {
		t.Fatalf("no session: %d %+v, want 502 with the UI API error array", resp.StatusCode, e)
	}
}

func TestAssetsHoldTheBundleAndSLDS(t *testing.T) {
	srv := httptest.NewServer(browser.Handler())
	defer srv.Close()
	for _, p := range []string{"/switchboard-lwc.js", "/slds/styles/salesforce-lightning-design-system.min.css"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 10000 {
			t.Fatalf("%s: %d, %d bytes", p, resp.StatusCode, n)
		}
	}
}

// chromium finds the browser; without one the test skips, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH")
	}
	t.Skip("no chromium on PATH: apt-get install -y chromium to run the browser test")
	return ""
}

// deepJS finds elements through shadow roots (synthetic or native), the
// way a user sees the page; document.querySelector stops at each root.
const deepJS = `window.deepAll = (sel, root = document) => {
  const out = [...root.querySelectorAll(sel)];
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) out.push(...deepAll(sel, el.shadowRoot));
  return out;
};
window.deepText = (sel) => deepAll(sel).map(e => (e.shadowRoot || e).textContent.trim()).join('|');`

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fixture</title>
<link rel="stylesheet" href="/lwc/slds/styles/salesforce-lightning-design-system.min.css"></head>
<body class="slds-scope" style="background:#f3f3f3">
<div style="display:flex;gap:16px" class="slds-p-around_medium"><div id="chat" style="width:440px"></div><div id="admin" style="width:440px"></div></div>
<script src="/fixture/fixture-lwc.js"></script>
<script>
SwitchboardLWC.mount('c-fixture-card', document.getElementById('chat'), {recordId: %[1]q, conversationId: %[2]q});
SwitchboardLWC.mount('c-fixture-admin', document.getElementById('admin'), {contactId: %[1]q, deleteId: %[3]q});
</script>
</body></html>`

// TestFixtureComponentInChromium: the build pipeline on a test-only
// component, in headless Chromium against a real simulated org through
// OrgProxy — getRecord shows the Contact, the graphql wire the thread, a
// Task the org gets (as the sidecar writes an inbound message) arrives
// through empApi's filtered subscription and refreshGraphQL, and Send
// creates a Task through createRecord that SOQL sees, with a toast.
// SB_LWC_SCREENSHOTS=dir saves the page as fixture.png there.
//
// Long on purpose: one page in one browser, step after step.
func TestFixtureComponentInChromium(t *testing.T) {
	exe := chromium(t)
	org := sfdctest.Start(t)
	org.SetHoldTimeout(5 * time.Second)
	tok, err := login(context.Background(), org.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := &orgClient{t: t, base: org.URL(), tok: tok}
	// The SPEC §2 PushTopic for the chat components, created as setup does.
	c.create("PushTopic", map[string]any{"Name": "SwitchboardChat", "ApiVersion": 62.0, "NotifyForFields": "Referenced",
		"Query": "SELECT Id, Conversation__c, Message_Type__c, Message_Status__c FROM Task WHERE Conversation__c != null"})
	contact := c.create("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "+14155550100"})
	conv := c.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550100", "Record_Id__c": contact})
	other := c.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550199"})
	spare := c.create("Contact", map[string]any{"LastName": "Spare"})
	c.create("Task", map[string]any{"Conversation__c": conv, "WhoId": contact, "Description": "Is my order ready?",
		"Message_Type__c": "Inbound", "Message_Status__c": "Received", "Subject": "SMS from +14155550100"})

	u, _ := url.Parse(org.URL())
	mux := http.NewServeMux()
	mux.Handle("/lwc/", http.StripPrefix("/lwc", browser.Handler()))
	mux.Handle("/fixture/", http.StripPrefix("/fixture", http.FileServer(http.Dir("testdata/fixture"))))
	proxy := browser.OrgProxy(u, func(context.Context) (string, error) { return tok, nil })
	mux.Handle("/services/", proxy)
	mux.Handle("/cometd/", proxy)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, page, contact, conv, spare)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 720))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	var mu sync.Mutex
	var pageErrors []string
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			mu.Lock()
			pageErrors = append(pageErrors, msg)
			mu.Unlock()
		}
	}))
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second),
			chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`deepText('.name')+' / '+deepText('.message')+' / '+deepText('.count')+' / '+deepText('#sbx-toasts')`))
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: %v\npage shows: %s\npage errors: %v", what, err, state, pageErrors)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](deepJS+"; true")); err != nil {
		t.Fatal(err)
	}
	poll("getRecord: the Contact's name and phone", `deepText('.name') === 'Ada Lovelace' && deepText('.phone') === '+14155550100'`)
	poll("graphql: the thread, the picklist's displayValue in a lightning-badge",
		`deepAll('.message').length === 1 && deepText('.message').includes('Is my order ready?') && deepText('lightning-badge').includes('Received')`)
	poll("the Custom Label as the card title", `deepText('lightning-card h2').includes('Fixture: chat with a contact')`)

	// Another conversation's message must not arrive (filtered
	// subscription); this one's must, live.
	c.create("Task", map[string]any{"Conversation__c": other, "Description": "not for this card", "Message_Type__c": "Inbound", "Message_Status__c": "Received"})
	c.create("Task", map[string]any{"Conversation__c": conv, "WhoId": contact, "Description": "Hello? Anyone there?",
		"Message_Type__c": "Inbound", "Message_Status__c": "Received", "Subject": "SMS from +14155550100"})
	poll("empApi + refreshGraphQL: the new inbound message, live",
		`deepAll('.message').length === 2 && deepText('.message').includes('Anyone there?') && deepText('.count').includes('1 live events')`)

	// The org drops the CometD session (as after a 40 s network gap): the
	// server answers the next connect with advice.reconnect = handshake;
	// empApi handshakes again, subscribes again from the last replayId it
	// saw, and the message sent meanwhile is replayed to the card.
	hs := org.Handshakes()
	org.ExpireAllClients()
	c.create("Task", map[string]any{"Conversation__c": conv, "WhoId": contact, "Description": "Sent while the session was gone",
		"Message_Type__c": "Inbound", "Message_Status__c": "Received", "Subject": "SMS from +14155550100"})
	poll("empApi after a dropped session: re-handshake, re-subscribe, replay",
		`deepAll('.message').length === 3 && deepText('.message').includes('while the session was gone')`)
	if org.Handshakes() <= hs {
		t.Fatalf("handshakes %d after the drop, want more than %d", org.Handshakes(), hs)
	}

	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`deepAll('lightning-button.send button')[0].click(), true`)); err != nil {
		t.Fatal(err)
	}
	poll("createRecord, then a ShowToastEvent drawn as an SLDS toast", `deepText('#sbx-toasts .slds-notify_toast').includes('Message queued')`)
	poll("the sent message in the thread", `deepAll('.message').length === 4 && deepText('.message').includes('Hello from the browser')`)
	recs, err := org.Query("SELECT Id, Description, Message_Status__c, WhoId FROM Task WHERE Message_Type__c = 'Outbound'")
	if err != nil || len(recs) != 1 || recs[0]["Message_Status__c"] != "Pending" || recs[0]["Description"] != "Hello from the browser" || recs[0]["WhoId"] != contact {
		t.Fatalf("the Task the browser created, in SOQL: %v %v", recs, err)
	}
	if leaked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`deepText('.message').includes('not for this card')`)); err != nil || leaked {
		t.Fatalf("another conversation's message reached the card (filter): %v", err)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(deepAll('lightning-button.send button')[0]).backgroundColor`))
	if err != nil {
		t.Fatal(err)
	}
	if bg == "" || bg == "rgba(0, 0, 0, 0)" || bg == "rgb(239, 239, 239)" {
		t.Fatalf("the brand button has background %q: SLDS styles did not reach the component", bg)
	}

	// fixtureAdmin: object info, picklist values, the record picker,
	// updateRecord refreshing the other card's getRecord, a failed save's
	// Record Exceptions, deleteRecord, navigation.
	poll("getObjectInfo", `deepText('.info') === 'Tasks (00T): Message Status'`)
	poll("getPicklistValues into a lightning-combobox", `(() => { const c = deepAll('lightning-combobox.statuses')[0];
		return c && c.options.length === 12 && c.options[0].value === 'Pending'; })()`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = deepAll('lightning-record-picker input')[0];
		i.value = 'lovel'; i.dispatchEvent(new Event('input', {bubbles: true, composed: true})); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	poll("the record picker's suggestion", `deepAll('lightning-record-picker [role=option]').some(o => o.textContent.includes('Ada Lovelace'))`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`deepAll('lightning-record-picker [role=option]')[0].click(), true`)); err != nil {
		t.Fatal(err)
	}
	poll("the picked record's Id in the change event", fmt.Sprintf(`deepText('.picked') === %q`, contact))
	click := func(sel string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`deepAll(%q)[0].click(), true`, sel+" button"))); err != nil {
			t.Fatal(err)
		}
	}
	click("lightning-button.rename")
	poll("updateRecord, and the other card's getRecord follows", `deepText('.done') === 'renamed' && deepText('.name') === 'Augusta Ada Lovelace'`)
	click("lightning-button.bad-save")
	poll("a refused save: error.body.output.fieldErrors", `deepText('.save-error') === 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST'`)
	click("lightning-button.delete")
	poll("deleteRecord", `deepText('.done') === 'deleted'`)
	if recs, err := org.Query("SELECT Id FROM Contact WHERE Id = '" + spare + "'"); err != nil || len(recs) != 0 {
		t.Fatalf("the deleted Contact in SOQL: %v %v", recs, err)
	}
	click("lightning-button.open")
	poll("NavigationMixin.Navigate", fmt.Sprintf(`SwitchboardLWC.navigations.some(n => n.url === '#/standard__recordPage/Contact/%s/view')`, contact))

	mu.Lock()
	if len(pageErrors) > 0 {
		t.Fatalf("page errors: %v", pageErrors)
	}
	mu.Unlock()

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("SB_LWC_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(dir, "fixture.png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}
