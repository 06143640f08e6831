package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/sync/store"
)

// ---- server.public_url ------------------------------------------------

func (d *doctor) checkPublicURL(ctx context.Context) {
	const what = "server.public_url"
	if d.problems["server"] {
		d.skip(what, "see the configuration problems above")
		return
	}
	raw := d.cfg.Server.PublicURL
	u, err := url.Parse(raw)
	if err != nil {
		d.fail(what, err.Error(), d.setFix(what))
		return
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := isLoopbackHost(host)
	fixHTTPS := "set " + keyRef(what) + " to the https base URL your proxy or load balancer publishes for this sidecar, e.g. https://switchboard.example.com"
	switch {
	case u.RawQuery != "" || u.Fragment != "":
		d.fail(what, fmt.Sprintf("%q carries a query or fragment; Twilio signs the exact URL it calls", raw), fixHTTPS)
		return
	case strings.HasSuffix(u.Path, pathInbound) || strings.HasSuffix(u.Path, pathStatus):
		d.fail(what, fmt.Sprintf("%q is a webhook URL; public_url is the base that /twilio/inbound and /twilio/status are appended to", raw),
			"set "+keyRef(what)+" to "+strings.TrimSuffix(strings.TrimSuffix(raw, pathInbound), pathStatus))
		return
	case u.Scheme == "http" && !loopback:
		d.fail(what, fmt.Sprintf("%q is not https; Twilio's webhooks and their signatures must not travel in clear text", raw), fixHTTPS)
		return
	case !loopback && ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()):
		d.fail(what, fmt.Sprintf("%s is a private address Twilio cannot reach", host), fixHTTPS)
		return
	case !loopback && ip == nil && !strings.Contains(host, "."):
		d.fail(what, fmt.Sprintf("%q is not a public DNS name", host), fixHTTPS)
		return
	}
	note := ""
	if loopback {
		note = " (loopback: fine for the simulators; real Twilio cannot reach it)"
	}
	// Is this sidecar (or one like it) behind the URL? Not a failure if not:
	// doctor may run before `switchboard run`.
	pctx, cancel := context.WithTimeout(ctx, min(d.opts.timeout, 5*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, raw+"/healthz", nil)
	resp, err := d.hc.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
	}
	switch {
	case err != nil:
		d.warn(what+" "+raw+note, "GET "+raw+"/healthz got no answer ("+shortErr(err)+"), so Twilio's webhooks would not arrive either",
			"start `switchboard run`, and route "+raw+" to server.listen ("+d.cfg.Server.Listen+") at your proxy or load balancer")
	case resp.StatusCode != http.StatusOK:
		d.warn(what+" "+raw+note, fmt.Sprintf("GET %s/healthz answered HTTP %d, not switchboard's 200", raw, resp.StatusCode),
			"route "+raw+" to this sidecar's server.listen ("+d.cfg.Server.Listen+") without rewriting the path")
	default:
		d.pass(what + " " + raw + note + ": GET /healthz answered 200")
	}
}

// ---- server.admin_listen ---------------------------------------------

// checkAdminListen: the operator endpoints show queue depths, API usage and
// error texts, so they belong on loopback or a private network; and when
// the daemon runs, /readyz there says whether it is ready.
func (d *doctor) checkAdminListen(ctx context.Context) {
	const key = "server.admin_listen"
	addr := d.cfg.Server.AdminListen
	if d.problems["server"] {
		d.skip(key, "see the configuration problems above")
		return
	}
	if addr == "" {
		d.pass(key + " off: /readyz and /metrics are not served (no readiness probe, no Prometheus)")
		return
	}
	host, port, _ := net.SplitHostPort(addr)
	what := key + " " + addr
	if isLoopbackHost(host) {
		what += " (loopback)"
	} else {
		d.warn(what, "/readyz and /metrics are reachable beyond this host; they show queue depths, API usage and error texts",
			"keep that port to your monitoring network (a firewall, a Kubernetes Service of its own), or set "+keyRef(key)+" to 127.0.0.1:9090")
		return
	}
	if port == "0" {
		d.pass(what + ": a port chosen at start, so not probed")
		return
	}
	u := "http://" + net.JoinHostPort(host, port) + "/readyz"
	pctx, cancel := context.WithTimeout(ctx, min(d.opts.timeout, 5*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, u, nil)
	resp, err := d.hc.Do(req)
	if err != nil {
		d.warn(what, "GET "+u+" got no answer ("+shortErr(err)+")", "start `switchboard run` on this host; probes and Prometheus read "+u)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch text := strings.TrimSpace(string(body)); {
	case resp.StatusCode == http.StatusOK && text == "ready":
		d.pass(what + ": GET /readyz answered ready")
	case resp.StatusCode == http.StatusServiceUnavailable:
		d.warn(what, "the daemon answers but is not ready: "+text, "see the checks above")
	default:
		d.warn(what, fmt.Sprintf("GET %s answered HTTP %d, not switchboard's readiness", u, resp.StatusCode),
			"set "+keyRef(key)+" to a port of its own")
	}
}

func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// ---- store ------------------------------------------------------------

func (d *doctor) checkStore(ctx context.Context) {
	what := storeWhat(d.cfg.Store.URL)
	if d.problems["store"] {
		d.skip("store", "see the configuration problems above")
		return
	}
	sctx, cancel := d.ctx(ctx)
	defer cancel()
	st, err := store.Open(sctx, d.cfg.Store.URL, store.Options{})
	if err != nil {
		d.fail(what, "cannot be opened: "+err.Error(),
			"set "+keyRef("store.url")+" to sqlite://<path in a writable directory> or to a reachable postgres://user@host:5432/db")
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = st.Close(cctx)
	}()
	c, _ := storeCheck(sctx, st, what)
	d.report(c)
}
