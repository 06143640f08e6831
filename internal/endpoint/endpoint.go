// Package endpoint holds the rules about the endpoints switchboard talks to
// that settings (config), the Salesforce client (sfdc) and the commands all
// apply: which hosts stay on this machine (the only ones http is allowed
// for), which Salesforce login hosts are the generic ones, and what a
// Salesforce API version looks like. It has no dependencies, so each of them
// can call it and none decides differently.
package endpoint

import (
	"net"
	"regexp"
	"strings"
)

// IsLoopback reports whether host (a name or an address, without a port,
// with or without IPv6 brackets) stays on this machine: "localhost" in any
// case (host names are case-insensitive, RFC 4343) or any loopback address
// (127.0.0.0/8, ::1).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// IsGenericLoginHost reports whether host is Salesforce's generic login
// host (production or sandbox) rather than an org's My Domain. The
// client_credentials flow is refused there: "request not supported on this
// domain" (salesforce.md §1.1). Host names are compared without case.
func IsGenericLoginHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "login.salesforce.com" || h == "test.salesforce.com"
}

// APIVersionRE matches a Salesforce REST API version as it appears in
// /services/data/vXX.X: two digits, no leading zero, ".0" (salesforce.md
// §2.1).
var APIVersionRE = regexp.MustCompile(`^[1-9][0-9]\.0$`)

// ValidAPIVersion reports whether v is a Salesforce API version like 62.0.
func ValidAPIVersion(v string) bool { return APIVersionRE.MatchString(v) }
