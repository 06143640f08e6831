package endpoint

import "testing"

// One table for the three rules config, sfdc and the commands used to
// decide each on their own.
func TestRules(t *testing.T) {
	for _, c := range []struct {
		host              string
		loopback, generic bool
	}{
		{"localhost", true, false},
		{"LocalHost", true, false}, // host names have no case
		{"127.0.0.1", true, false},
		{"127.0.0.2", true, false}, // all of 127.0.0.0/8
		{"::1", true, false},
		{"[::1]", true, false},
		{"0:0:0:0:0:0:0:1", true, false},
		{"localhost.example.com", false, false},
		{"10.0.0.1", false, false},
		{"::ffff:7f00:1", true, false}, // IPv4-mapped 127.0.0.1
		{"", false, false},
		{"login.salesforce.com", false, true},
		{"LOGIN.Salesforce.com", false, true},
		{"test.salesforce.com", false, true},
		{"test.salesforce.com.", false, true}, // fully qualified
		{"acme.my.salesforce.com", false, false},
		{"acme--dev.sandbox.my.salesforce.com", false, false},
		{"login.salesforce.com.evil.example", false, false},
	} {
		if got := IsLoopback(c.host); got != c.loopback {
			t.Errorf("IsLoopback(%q) = %v, want %v", c.host, got, c.loopback)
		}
		if got := IsGenericLoginHost(c.host); got != c.generic {
			t.Errorf("IsGenericLoginHost(%q) = %v, want %v", c.host, got, c.generic)
		}
	}
	for v, want := range map[string]bool{
		"62.0": true, "37.0": true, "10.0": true,
		"05.0": false, "00.0": false, "62": false, "v62.0": false, "62.1": false, "162.0": false, "": false, "62.0 ": false,
	} {
		if got := ValidAPIVersion(v); got != want {
			t.Errorf("ValidAPIVersion(%q) = %v, want %v", v, got, want)
		}
	}
}
