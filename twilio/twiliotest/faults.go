package twiliotest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The API fault knobs: 429s, 5xx, creates that succeed but fail to answer,
// and latency.

// injectFault answers the request with a pending 429 or 5xx fault.
func (s *Server) injectFault(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fail429 > 0:
		s.fail429--
		s.stats.Faults++
		if s.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((s.retryAfter+time.Second-1)/time.Second)))
		}
		// "An API Request that receives an error 429 response is never
		// processed" (ref §3.2, errors/20429).
		writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return true
	case s.fail5xx > 0:
		s.fail5xx--
		s.stats.Faults++
		if s.fail5xxHTML {
			// What a load balancer in front of Twilio sends during an
			// incident (ref §3.2, twilio-go issues #130, #229).
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n")
			return true
		}
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return true
	}
	return false
}

// Fail429 makes the next n API requests fail with 429 / 20429, with a
// Retry-After header (see SetRetryAfter).
func (s *Server) Fail429(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail429 = max(n, 0)
}

// SetRetryAfter sets the Retry-After sent with 429s (rounded up to whole
// seconds); 0 sends none. Default 1 s.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// Fail5xx makes the next n API requests fail without being processed:
// 503 with an HTML body if htmlBody, else 500 with Twilio's JSON (20500).
func (s *Server) Fail5xx(n int, htmlBody bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail5xx, s.fail5xxHTML = max(n, 0), htmlBody
}

// CreatedBut500 makes the next n creates create the message (it is listed,
// its lifecycle runs) and then answer 500: the ambiguous case (ref §3.2).
func (s *Server) CreatedBut500(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created500 = max(n, 0)
}

// DropAfterCreate makes the next n creates create the message and then
// close the connection without a response.
func (s *Server) DropAfterCreate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropCreate = max(n, 0)
}

// SetLatency delays every API response by d (the request's context still
// ends it early).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.latencyHi = d, 0
}

// SetLatencyRange delays every API response by a random time in [lo, hi],
// as a real API's latency varies.
func (s *Server) SetLatencyRange(lo, hi time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.latencyHi = lo, max(hi, lo)
}

// HoldAfterCreate makes the next n creates create the message (it is
// listed, its lifecycle runs) and then wait d before answering: the window
// in which a client that dies has a message at Twilio and no SID. The
// client's own timeout or a closed connection still ends the wait.
func (s *Server) HoldAfterCreate(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdCreate, s.holdFor = max(n, 0), d
}
