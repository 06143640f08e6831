// Package browser serves the browser build of switchboard's Lightning Web
// Components (built by `npm run build` in sfdc/metadata, committed under
// dist/ so that `go run ./cmd/switchboard demo --serve` needs only Go) and
// proxies the platform stand-ins' calls to the org.
//
// The components run in the page with the open-source LWC engine; their
// platform modules (lightning/uiRecordApi, lightning/graphql,
// lightning/empApi, …; see modules/) call same-origin /services/data/… and
// /cometd/…, which OrgProxy forwards to the org with a session, as the
// Lightning runtime attaches the user's session on the platform. Same
// origin means no CORS and the CometD cookie stays first-party.
package browser

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

//go:embed dist
var dist embed.FS

// Assets is the built bundle: switchboard-lwc.js (every component of
// force-app/main/default/lwc, window.SwitchboardLWC.mount(tag, element,
// props)) and slds/ (the SLDS stylesheet and the images it references).
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Handler serves Assets; mount it under a prefix with http.StripPrefix.
func Handler() http.Handler { return http.FileServerFS(Assets()) }

// TokenFunc returns a current access token for the org.
type TokenFunc func(ctx context.Context) (string, error)

// OrgProxy forwards /services/data/… and /cometd/… to org with
// "Authorization: Bearer <token>". Anything else, the OAuth endpoints
// included, is 404: the page never sees a token. It hands the page the
// session of whoever token() logs in as, so it is for the demo and tests
// on loopback, never for a public listener.
func OrgProxy(org *url.URL, token TokenFunc) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(org)
			pr.Out.Host = org.Host
		},
		// Long polls (/meta/connect) hold for up to the org's timeout;
		// their replies must not wait in a buffer.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the page went away, e.g. during a held /meta/connect
			}
			unavailable(w, "the org did not answer: "+err.Error())
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/services/data/") && !strings.HasPrefix(r.URL.Path, "/cometd/") {
			http.NotFound(w, r)
			return
		}
		tok, err := token(r.Context())
		if err != nil {
			unavailable(w, "no session with the org: "+err.Error())
			return
		}
		out := r.Clone(r.Context())
		out.Header.Set("Authorization", "Bearer "+tok)
		rp.ServeHTTP(w, out)
	})
}

// unavailable answers 502 with the UI API error array, so the stand-ins
// report it as any other org error.
func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_ = json.NewEncoder(w).Encode([]map[string]string{{"errorCode": "SERVER_UNAVAILABLE", "message": msg}})
}
