package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sync/store"
)

// check is one self-check's outcome. `doctor` prints it; the running
// daemon's heartbeat writes the runtime ones into Checks__c (SPEC §1a), so
// the two say the same thing the same way.
type check struct {
	mark, what, problem, fix string
}

func passed(what string) check { return check{mark: markPass, what: what} }

func failed(what, problem, fix string) check {
	return check{mark: markFail, what: what, problem: problem, fix: fix}
}

func warned(what, problem, fix string) check {
	return check{mark: markWarn, what: what, problem: problem, fix: fix}
}

// String is the check's one line: "✓ what", or "✗ what: problem — fix:
// action".
func (c check) String() string {
	if c.mark == markPass {
		return c.mark + " " + c.what
	}
	return fmt.Sprintf("%s %s: %s — fix: %s", c.mark, c.what, flat(c.problem), flat(c.fix))
}

// flat keeps a check on one line: driver errors (pgx's, for one) span
// several.
func flat(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// loginWhat names the Salesforce login check.
func loginWhat(sf config.Salesforce) string {
	return fmt.Sprintf("Salesforce login (%s flow at %s)", sf.AuthFlow, sf.LoginURL)
}

// loginCheck is the outcome of logging in with the salesforce.* settings:
// creds when err is nil, else what the token endpoint said, explained.
func loginCheck(sf config.Salesforce, creds sfdc.Credentials, err error) check {
	if err != nil {
		problem, fix := explainLogin(sf, err)
		return failed(loginWhat(sf), problem, fix)
	}
	return passed(fmt.Sprintf("%s as %s; instance %s", loginWhat(sf), orDash(sf.Username), creds.InstanceURL))
}

// apiCallsCheck reads the org's rolling 24-hour API usage as the last
// counted call reported it (Sforce-Limit-Info, ref §2.1).
func apiCallsCheck(l sfdc.Limits, budget float64) check {
	if l.Max == 0 {
		return passed("daily API calls (the org did not report its usage)")
	}
	left := l.Max - l.Used
	pct := 100 * float64(left) / float64(l.Max)
	line := fmt.Sprintf("daily API calls: %d of %d left (%.0f%%)", left, l.Max, pct)
	if pct < 10 {
		return warned(line, "less than 10% of the org's daily API calls are left",
			fmt.Sprintf("find what uses them (Setup → System Overview, API Usage report) or raise the limit; above engine.api_budget (%.0f%%) switchboard slows its sweeps and status polls", 100*budget))
	}
	return passed(line)
}

// storeState is what storeCheck counted.
type storeState struct {
	backlog, dead int64
}

// storeCheck: the store takes a write, and how much work waits in it or
// failed for good. what names the store (its redacted URL).
func storeCheck(ctx context.Context, st *store.Store, what string) (check, storeState) {
	var s storeState
	if err := st.Writable(ctx); err != nil {
		return failed(what, "opens but refuses a write: "+err.Error(), "give this process write access to the database (file permissions, or the PostgreSQL role's privileges), and free disk space"), s
	}
	depth, err := st.QueueDepth(ctx)
	if err != nil {
		return failed(what, "opens but cannot count its jobs: "+err.Error(), "check the database; run doctor again"), s
	}
	var kinds []string
	for kind, dp := range depth {
		s.dead += dp.Dead
		s.backlog += dp.Available + dp.Scheduled + dp.Retryable + dp.Running
		if dp.Dead > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", kind, dp.Dead))
		}
	}
	sort.Strings(kinds)
	summary := fmt.Sprintf("%s (%s): opens, writable, %d job(s) queued, %d dead letter(s)", what, st.Backend(), s.backlog, s.dead)
	if s.dead == 0 {
		return passed(summary), s
	}
	last := ""
	if dls, err := st.DeadLetters(ctx, "", 1); err == nil && len(dls) > 0 {
		last = fmt.Sprintf("; latest: %s %q failed %d times: %s", dls[0].Kind, dls[0].Key, dls[0].Attempts, dls[0].LastError)
	}
	return warned(summary, fmt.Sprintf("work that used up its attempts and will not run again by itself (%s)%s", strings.Join(kinds, ", "), last),
		"list them with `switchboard dead-letters`, fix the cause, then queue them again with `switchboard dead-letters replay --all`"), s
}

// storeWhat names the store in a check without its password.
func storeWhat(url string) string { return "store " + config.RedactURL(url) }
