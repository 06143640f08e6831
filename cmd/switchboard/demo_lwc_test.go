package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestDemoServesTheLWCBundleAndTheOrg: demo --serve hands out the embedded
// browser bundle under /lwc/ and, same-origin, the simulated org's UI API
// and CometD for its platform stand-ins — but not the OAuth endpoint.
func TestDemoServesTheLWCBundleAndTheOrg(t *testing.T) {
	base := servedDemo(t, false)
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, p := range []string{"/lwc/switchboard-lwc.js", "/lwc/slds/styles/salesforce-lightning-design-system.min.css"} {
		if st, b := get(p); st != 200 || len(b) < 10000 {
			t.Fatalf("%s: %d, %d bytes", p, st, len(b))
		}
	}
	st, b := get("/services/data/v62.0/ui-api/object-info/Conversation__c")
	var info struct {
		APIName string `json:"apiName"`
	}
	if err := json.Unmarshal(b, &info); st != 200 || err != nil || info.APIName != "Conversation__c" {
		t.Fatalf("object-info through the demo: %d %s", st, b)
	}
	resp, err := http.Post(base+"/services/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("the demo page must not hand out OAuth tokens")
	}
}

// lwcBrowser drives headless Chromium on the demo page and fails the test
// on any uncaught page error.
type lwcBrowser struct {
	t     *testing.T
	ctx   context.Context
	mu    sync.Mutex
	errs  []string
	shots string
}

// deepJS finds elements through shadow roots (synthetic in this build), as
// a user sees the page; document.querySelector stops at each root.
const deepJS = `window.deepAll = (sel, root = document) => {
  const out = [...root.querySelectorAll(sel)];
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) out.push(...deepAll(sel, el.shadowRoot));
  return out;
};
window.deepIn = (host, sel) => host ? deepAll(sel, host.shadowRoot || host) : [];
window.deepText = (sel, root) => (root ? deepIn(root, sel) : deepAll(sel)).map(e => (e.shadowRoot || e).textContent.trim()).join('|');
// hasText: some leaf element under root, through every shadow root, shows text.
window.hasText = (root, text) => deepIn(root, '*').some(e => e.childElementCount === 0 && e.textContent.includes(text));
// optionAt opens a lightning-combobox and answers where the option whose
// value is text (or whose label has it) is on screen, for a real mouse
// click; the options render when the list opens, on a later render, so
// the caller polls.
window.optionAt = (combo, text) => {
  if (!combo) return null;
  const trigger = deepIn(combo, '[role=combobox]')[0];
  if (!trigger) return null;
  const opt = deepIn(combo, '[role=option]').find(o => o.dataset.value === text || o.getAttribute('data-value') === text ||
    (o.shadowRoot || o).textContent.includes(text));
  if (!opt) {
    if (trigger.getAttribute('aria-expanded') !== 'true') trigger.click();
    return null;
  }
  opt.scrollIntoView({block: 'center'});
  const r = opt.getBoundingClientRect();
  return r.width > 0 ? [r.left + r.width / 2, r.top + r.height / 2] : null;
};
true`

func newLWCBrowser(t *testing.T, exe string) *lwcBrowser {
	b := &lwcBrowser{t: t, shots: os.Getenv("SB_LWC_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1500, 1100))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.errs = append(b.errs, msg)
			b.mu.Unlock()
		}
	}))
	t.Cleanup(cancelBrowser)
	ctx, cancel := context.WithTimeout(ctx, 100*time.Second)
	t.Cleanup(cancel)
	b.ctx = ctx
	return b
}

func (b *lwcBrowser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errs)
}

// run evaluates expr (which must return true) after loading the helpers.
func (b *lwcBrowser) run(what, expr string) {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	if err != nil || !ok {
		b.t.Fatalf("%s: %v (got %v)\npage errors: %v", what, err, ok, b.pageErrors())
	}
}

// poll waits for expr to be true, with a deadline (never a fixed sleep).
func (b *lwcBrowser) poll(what, expr string) {
	b.t.Helper()
	b.pollFor(what, expr, 30*time.Second)
}

func (b *lwcBrowser) pollFor(what, expr string, limit time.Duration) {
	b.t.Helper()
	began := time.Now()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %v\npage errors: %v", what, err, b.pageErrors())
	}
	b.t.Logf("%-70s %5.1f s", what, time.Since(began).Seconds())
}

// pick chooses an option of the lightning-combobox combo (a JS
// expression) with a real mouse click, as a user does.
func (b *lwcBrowser) pick(what, combo, option string) {
	b.t.Helper()
	xy, err := chromedp.Run(b.ctx, chromedp.Poll[[]float64](fmt.Sprintf("optionAt(%s, %q)", combo, option),
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil || len(xy) != 2 {
		b.shot("failed")
		b.t.Fatalf("%s: the option %q does not show: %v", what, option, err)
	}
	if err := chromedp.Do(b.ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// typeInto types value into the lightning-input input (a JS expression), as
// a user does: the native input's value, then its input and change events.
func (b *lwcBrowser) typeInto(what, input, value string) {
	b.t.Helper()
	b.poll("type "+what, fmt.Sprintf(`(() => { const i = deepIn(%s, 'input')[0];
		if (!i) return false; i.value = %q; i.dispatchEvent(new Event('input', {bubbles: true, composed: true}));
		i.dispatchEvent(new Event('change', {bubbles: true, composed: true})); return true; })()`, input, value))
}

// shot saves a screenshot of the element sel matches (the whole page for "").
func (b *lwcBrowser) shot(name string, sel ...string) {
	b.t.Helper()
	var png []byte
	var err error
	if len(sel) == 0 {
		png, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	} else {
		png, err = chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(sel[0])))
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d KiB)", file, len(png)/1024)
}

// TestDemoLightningComponentsInChromium: the real Lightning components on
// the demo page (compiled from force-app/.../lwc), in headless Chromium,
// against the real daemon and both simulators, driven through their DOM as
// an agent and an admin would: the Contact's chat sends a template's German
// translation and shows it Pending, then Delivered, live; the customer's
// reply from the page's phone appears live; a stranger's text appears in the
// inbox, the agent creates a Lead from it and the Lead's chat shows the
// thread with its history; STOP disables the composer with
// the reason; the Administration tab shows the daemon's heartbeat and
// refuses a malformed channel number with a visible error, then creates the
// channel. SB_LWC_SCREENSHOTS=<dir> keeps a screenshot per component.
//
// Long on purpose: it is one user's story in one browser, step after step.
func TestDemoLightningComponentsInChromium(t *testing.T) {
	exe := chromiumPath(t)
	began := time.Now()
	base := servedDemo(t, false)
	b := newLWCBrowser(t, exe)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	b.run("the page's test helpers", deepJS)
	chat := `document.querySelector('#chat-contact c-switchboard-chat')`
	in := func(root, sel string) string { return fmt.Sprintf("deepIn(%s, %q)", root, sel) }
	b.poll("the Contact's chat: its phone, the channel and the template", in(chat, "lightning-combobox.sb-template")+`.length === 1 && !!`+in(chat, "lightning-combobox.sb-channel")+`[0].value`)

	// 1. The agent picks the template and its German translation and sends.
	b.pick("the template", in(chat, "lightning-combobox.sb-template")+"[0]", "Order shipped")
	b.pick("its German translation", in(chat, "lightning-combobox.sb-language")+"[0]", "de")
	b.poll("the German text in the composer", in(chat, "lightning-textarea.sb-text textarea")+`[0].value.startsWith('Hallo {!Contact.FirstName}')`)
	// Every status the outbound bubble shows, sampled every 20 ms: Pending
	// lasts a fraction of a second (Twilio's simulated steps are 250 ms).
	b.run("record the bubble's statuses", `(() => { window.trail = []; setInterval(() => {
		const s = deepIn(`+chat+`, 'li c-switchboard-status-badge lightning-badge').map(x => x.dataset.status);
		const last = s[s.length - 1]; if (last && trail[trail.length - 1] !== last) trail.push(last); }, 20); return true; })()`)
	b.run("send", in(chat, "lightning-button.sb-send button")+`[0].click(), true`)
	b.poll("the bubble: the German text as sent (merge field filled), Delivered", `deepText('.sb-body', `+chat+`).includes('Hallo Ada, Ihre Bestellung #1042') && trail[trail.length - 1] === 'Delivered'`)
	b.run("the bubble was Pending before it was Delivered (live, without a reload)", `trail.includes('Pending') && trail.indexOf('Pending') < trail.indexOf('Delivered')`)
	b.shot("switchboardChat-contact", "#record-contact")

	// 2. The customer replies from the phone on the page.
	b.run("the phone: Ada's number and a reply", `(() => { document.getElementById('phone-from').value = '(415) 555-0100';
		document.getElementById('phone-body').value = 'Danke! Wann kommt es an?';
		document.getElementById('phone-send').click(); return true; })()`)
	b.poll("the reply appears in the Contact's chat, live", `deepIn(`+chat+`, '.sb-body').some(e => e.textContent.includes('Wann kommt es an?'))`)

	// 3. A stranger texts: the conversation appears in the inbox; the agent
	// creates a Lead from it, and the Lead's chat shows the thread.
	b.run("the phone: a stranger texts", `(() => { document.getElementById('phone-from').value = '(415) 555-0199';
		document.getElementById('phone-body').value = 'Hi, do you ship to Canada?';
		document.getElementById('phone-send').click(); return true; })()`)
	inbox := `document.querySelector('#inbox c-switchboard-inbox')`
	b.run("open the Inbound Messages tab", `document.getElementById('tab-inbox').click(), true`)
	// The inbox follows its listed conversations live; a new one comes with
	// its 30 s read (switchboardConversationList), hence the longer limit.
	b.pollFor("the stranger's conversation in the inbox; select it", `(() => {
		const item = deepIn(`+inbox+`, 'li').find(li => li.textContent.includes('+14155550199') && li.textContent.includes('ship to Canada'));
		if (!item) return false; deepIn(item, 'button.sb-select')[0].click(); return true; })()`, 45*time.Second)
	b.poll("the selected conversation's thread", `deepIn(`+inbox+`, '.sb-body').some(e => e.textContent.includes('ship to Canada'))`)
	// Laid out as three lines (number and count; channel and time; the last
	// message), not squeezed into one row: slds-button is inline-flex.
	b.run("the list item's lines stack", `(() => { const li = deepIn(`+inbox+`, 'li').find(li => li.textContent.includes('+14155550199'));
		const top = (sel) => deepIn(li, sel)[0].getBoundingClientRect().top;
		return top('.sb-recipient') < top('.sb-channel') && top('.sb-channel') < top('.sb-last'); })()`)
	b.shot("switchboardInbox", "#panel-inbox")
	b.run("New Lead", in(inbox, "lightning-button.sb-new-lead button")+`[0].click(), true`)
	newRecord := `deepIn(` + inbox + `, 'c-switchboard-new-record')[0]`
	b.typeInto("sb-first-name", `deepIn(`+newRecord+`, 'lightning-input.sb-first-name')[0]`, "Grace")
	b.typeInto("sb-last-name", `deepIn(`+newRecord+`, 'lightning-input.sb-last-name')[0]`, "Hopper")
	b.typeInto("sb-company", `deepIn(`+newRecord+`, 'lightning-input.sb-company')[0]`, "Navy")
	b.poll("Save the Lead", `(() => { const s = deepIn(`+newRecord+`, 'lightning-button.sb-save button')[0]; if (!s || s.disabled) return false; s.click(); return true; })()`)
	lead := `document.querySelector('#chat-lead c-switchboard-chat')`
	b.poll("the new Lead's record page: its chat shows the thread with its history", `document.getElementById('lead-name').textContent.includes('Grace Hopper') &&
		!document.getElementById('panel-records').hidden && deepIn(`+lead+`, '.sb-body').some(e => e.textContent.includes('ship to Canada'))`)
	b.shot("switchboardChat-lead", "#record-lead")

	// 4. STOP: the composer is disabled and says why.
	b.run("the phone: Ada texts STOP", `(() => { document.getElementById('phone-from').value = '(415) 555-0100';
		document.getElementById('phone-body').value = 'STOP';
		document.getElementById('phone-send').click(); return true; })()`)
	b.run("back to the record pages", `document.getElementById('tab-records').click(), true`)
	b.poll("the composer is disabled with the reason", `deepText('.sb-blocked', `+chat+`).length > 0 && `+in(chat, "lightning-button.sb-send button")+`[0].disabled`)
	b.shot("switchboardChat-opted-out", "#record-contact")

	// 5. The Administration tab: the daemon's heartbeat; a channel.
	admin := `document.querySelector('#admin c-switchboard-admin')`
	b.run("open the Administration tab", `document.getElementById('tab-admin').click(), true`)
	b.poll("the daemon's heartbeat row, live", in(admin, "li.instance")+`.length === 1 && `+in(admin, "li.instance lightning-badge.live")+`.length === 1`)
	b.shot("switchboardAdmin", "#panel-admin")
	b.poll("open the admin's Channels tab", `(() => { const tab = deepIn(`+admin+`, '[role=tab]').find(a => a.textContent.includes('Channel Types and Channels'));
		if (tab) tab.click(); return !!tab; })()`)
	channels := `deepIn(` + admin + `, 'c-switchboard-admin-channels')[0]`
	b.poll("the Channels card: the seeded channel", `hasText(deepIn(`+channels+`, 'lightning-datatable.channels')[0], '+14155550000')`)
	b.run("New Channel", in(channels, "lightning-button.new-channel button")+`[0].click(), true`)
	form := `deepIn(` + channels + `, 'c-switchboard-admin-form.channel-form')[0]`
	b.typeInto("Name", `deepIn(`+form+`, 'lightning-input[data-name=Name]')[0]`, "Berlin")
	b.typeInto("Phone_Number__c", `deepIn(`+form+`, 'lightning-input[data-name=Phone_Number__c]')[0]`, "030 1234567")
	b.pick("the channel's type", `deepIn(`+form+`, 'lightning-combobox[data-name=Channel_Type__c]')[0]`, "Twilio")
	b.run("Save", in(form, "lightning-button.save button")+`[0].click(), true`)
	b.poll("a malformed number is refused with a visible error", `hasText(deepIn(`+form+`, '.errors')[0], 'Phone')`)
	b.shot("switchboardAdmin-refused", "#panel-admin")
	b.typeInto("Phone_Number__c", `deepIn(`+form+`, 'lightning-input[data-name=Phone_Number__c]')[0]`, "+49301234567")
	b.run("Save", in(form, "lightning-button.save button")+`[0].click(), true`)
	b.poll("the new channel in the table", `hasText(deepIn(`+channels+`, 'lightning-datatable.channels')[0], '+49301234567')`)
	// The org holds it (read through the page's own session proxy).
	resp, err := http.Get(base + "/services/data/v62.0/query?q=" + url.QueryEscape("SELECT Name FROM Channel__c WHERE Phone_Number__c = '+49301234567'"))
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		TotalSize int `json:"totalSize"`
		Records   []struct{ Name string }
	}
	err = json.NewDecoder(resp.Body).Decode(&q)
	resp.Body.Close()
	if err != nil || q.TotalSize != 1 || q.Records[0].Name != "Berlin" {
		t.Fatalf("the channel in the org: %+v %v", q, err)
	}

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
	t.Logf("the whole story in the browser: %.1f s", time.Since(began).Seconds())
}
