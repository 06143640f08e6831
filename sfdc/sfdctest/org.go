// Package sfdctest runs a simulated Salesforce org on a real loopback
// listener: the OAuth token endpoint, the REST API (the SOQL subset
// switchboard uses, CRUD, upsert, sObject Collections, describe), the UI API
// and GraphQL record queries the Lightning components use (uiapi.go,
// graphql.go), PushTopics with their notification engine, and a CometD
// (Bayeux) server with a replay log and filtered subscriptions. Tests,
// benchmarks and `switchboard demo` all use it, the way net/http/httptest
// is used for HTTP servers.
//
// The behaviour follows ../shared/reference/salesforce.md; every fault the
// reference lists in §6.2 has a knob here.
package sfdctest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// Options configure a new Org. The zero value is a usable org with the
// SPEC schema and default credentials (see DefaultClientID and friends).
type Options struct {
	// Addr is the loopback address to listen on; empty means 127.0.0.1:0.
	Addr string
	// DailyAPILimit is the org's 24 h API call quota reported in
	// Sforce-Limit-Info. Zero means 100000.
	DailyAPILimit int
}

// Org is a simulated Salesforce org. All methods are safe for concurrent use.
type Org struct {
	srv *httptest.Server
	mux *http.ServeMux

	tokens *tokenStore  // issued access tokens (auth.go)
	rest   *restState   // records, schema, SOQL, limits, fault injection (rest.go and friends)
	bayeux *bayeuxState // CometD server and replay log (bayeux.go and friends)
	jwt    jwtKey       // the Connected App's registered certificate key (auth.go)

	closeOnce sync.Once
	closed    atomic.Bool
}

// NewOrg starts a simulated org listening on loopback. Close it when done.
func NewOrg(opts Options) (*Org, error) {
	o := &Org{mux: http.NewServeMux(), tokens: newTokenStore()}
	o.rest = newRESTState(o, opts)
	o.bayeux = newBayeuxState(o)
	o.registerREST(o.mux)
	o.registerBayeux(o.mux)

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	o.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: o.mux}}
	o.srv.Start()
	return o, nil
}

// URL is the org's base URL (both the login host and the instance_url).
func (o *Org) URL() string { return o.srv.URL }

// Close stops the listener and every long poll.
func (o *Org) Close() {
	o.closeOnce.Do(func() {
		o.closed.Store(true)
		o.bayeux.close()
		o.srv.CloseClientConnections()
		o.srv.Close()
	})
}
