package sfdc

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Limits is the org's rolling 24-hour API usage as last reported in a
// Sforce-Limit-Info header (ref §2.1).
type Limits struct {
	Used, Max int
	At        time.Time
}

// Limits returns the latest Sforce-Limit-Info reading; zero before the
// first response that carried one.
func (c *Client) Limits() Limits {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits
}

func (c *Client) observeLimits(h http.Header) {
	used, limit, ok := parseLimitInfo(h.Get("Sforce-Limit-Info"))
	if !ok {
		return
	}
	l := Limits{Used: used, Max: limit, At: time.Now()}
	c.mu.Lock()
	c.limits = l
	over := limit > 0 && float64(used) >= c.warnAt*float64(limit)
	crossed := over && !c.overLimit
	c.overLimit = over
	c.mu.Unlock()
	if crossed {
		c.log.Warn("salesforce org has used most of its daily API calls",
			zap.Int("used", used), zap.Int("max", limit), zap.Float64("warn_fraction", c.warnAt))
	}
	if c.onLimit != nil {
		c.onLimit(l)
	}
}

// parseLimitInfo reads api-usage from "api-usage=18/5000; api-bursts=1/750"
// (ref §2.1), ignoring other entries such as per-app-api-usage.
func parseLimitInfo(v string) (used, limit int, ok bool) {
	for part := range strings.SplitSeq(v, ";") {
		name, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || name != "api-usage" {
			continue
		}
		u, m, found := strings.Cut(val, "/")
		if !found {
			return 0, 0, false
		}
		used, err1 := strconv.Atoi(strings.TrimSpace(u))
		limit, err2 := strconv.Atoi(strings.TrimSpace(m))
		if err1 != nil || err2 != nil || used < 0 || limit < 0 {
			return 0, 0, false
		}
		return used, limit, true
	}
	return 0, 0, false
}
