package sfdc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// The faye npm package (1.4.3) is an independent Bayeux implementation
// (dependencies.md §4). These tests run the Stream against it to make sure
// the client speaks Bayeux, not just whatever sfdctest happens to accept.

// fayePeer is a node process running testdata/faye/server.js.
type fayePeer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// needFaye skips (locally) or fails (CI=true, where .ci/run installs them)
// when node or the faye package is missing.
func needFaye(t *testing.T) {
	t.Helper()
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join("testdata", "faye", "node_modules", "faye", "package.json")); err != nil {
		missing = "faye is not installed; run `npm ci --prefix sfdc/testdata/faye`"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("faye peer unavailable in CI: %s", missing)
	}
	t.Skipf("faye peer unavailable: %s", missing)
}

func fayeFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// startFaye runs the peer on port and waits until it listens.
func startFaye(t *testing.T, port int) *fayePeer {
	t.Helper()
	needFaye(t)
	// The test context kills the process if a test ends without stop.
	cmd := exec.CommandContext(t.Context(), "node", "server.js", strconv.Itoa(port), "1")
	cmd.Dir = filepath.Join("testdata", "faye")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &fayePeer{t: t, port: port, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case ready <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "listening ") {
			t.Fatalf("faye peer said %q", line)
		}
	case <-p.done:
		t.Fatal("faye peer exited before listening (port taken?)")
	case <-time.After(15 * time.Second):
		t.Fatal("faye peer did not start within 15 s")
	}
	return p
}

// stop kills the process (idempotent) and waits for it.
func (p *fayePeer) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *fayePeer) base() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *fayePeer) publish(channel string, n int) (first, last int64) {
	p.t.Helper()
	q := url.Values{"channel": {channel}, "n": {strconv.Itoa(n)}}
	var r struct{ First, Last int64 }
	p.get("/publish?"+q.Encode(), &r)
	return r.First, r.Last
}

type fayeStats struct {
	Handshakes, Subscribes, Connects, Disconnects, Unauthorized, MissingCookie, ReplayExt, Published int
}

func (p *fayePeer) stats() fayeStats {
	p.t.Helper()
	var s fayeStats
	p.get("/stats", &s)
	return s
}

func (p *fayePeer) get(path string, dst any) {
	p.t.Helper()
	resp, err := http.Get(p.base() + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
}

func TestStreamFayeHandshakeSubscribeReceive(t *testing.T) {
	peer := startFaye(t, fayeFreePort(t))
	// The first token is empty: faye (server.js) answers 401::Authentication
	// invalid, so the stream must re-authenticate once and start over.
	auth := &staticTokens{instance: peer.base()}
	rec := newStreamRecorder()
	s, err := NewStream(streamTestConfig(t, auth, rec, topicTasks, topicConvs))
	if err != nil {
		t.Fatal(err)
	}
	stop := runStream(t, s)
	sfdctest.Eventually(t, 10*time.Second, "subscribed", s.Subscribed)
	if auth.Reauths() != 1 {
		t.Errorf("re-authentications = %d, want 1 (first token refused)", auth.Reauths())
	}

	peer.publish(topicTasks, 30)
	peer.publish(topicConvs, 10)
	sfdctest.Eventually(t, 10*time.Second, "40 events", func() bool { return rec.count(topicTasks) == 30 && rec.count(topicConvs) == 10 })
	for ch, n := range map[string]int{topicTasks: 30, topicConvs: 10} {
		ids := rec.ids(ch)
		if err := strictlyIncreasing(ids); err != nil {
			t.Errorf("%s: %v", ch, err)
		}
		if ids[0] != 1 || ids[len(ids)-1] != int64(n) {
			t.Errorf("%s: ids %d..%d, want 1..%d", ch, ids[0], ids[len(ids)-1], n)
		}
	}
	rec.mu.Lock()
	ev := rec.events[topicTasks][0]
	rec.mu.Unlock()
	var so struct{ Id, Message_Type__c string }
	if err := json.Unmarshal(ev.SObject, &so); err != nil || so.Message_Type__c != "Outbound" || !strings.HasPrefix(so.Id, "00T") {
		t.Errorf("sobject %s decodes to %+v, %v", ev.SObject, so, err)
	}
	if ev.Type != "created" || ev.Channel != topicTasks || time.Since(ev.CreatedDate) > time.Minute {
		t.Errorf("event %+v", ev)
	}
	if g := rec.gapsFor(topicTasks); len(g) != 0 {
		t.Errorf("gaps on a fresh subscription from -1: %v", g)
	}

	stop()
	st := peer.stats()
	if st.Disconnects != 1 {
		t.Errorf("faye saw %d /meta/disconnect, want 1 on shutdown", st.Disconnects)
	}
	if st.MissingCookie != 0 {
		t.Errorf("%d requests did not carry the BAYEUX_BROWSER cookie", st.MissingCookie)
	}
	if st.Unauthorized != 1 || st.Handshakes != 1 {
		t.Errorf("faye stats %+v: want 1 refused and 1 accepted handshake", st)
	}
	if st.ReplayExt != 0 {
		t.Errorf("subscribes carried ext.replay although faye did not announce it: %+v", st)
	}
	if got := s.Stats(); got.Delivered != 40 || got.Reconnects[CauseAuth] != 1 {
		t.Errorf("stats %+v", got)
	}
}

func TestStreamFayeRestartOnSamePort(t *testing.T) {
	port := fayeFreePort(t)
	peer := startFaye(t, port)
	auth := &staticTokens{instance: peer.base(), tok: "tok-0"}
	rec := newStreamRecorder()
	s, err := NewStream(streamTestConfig(t, auth, rec, topicTasks, topicConvs))
	if err != nil {
		t.Fatal(err)
	}
	runStream(t, s)
	sfdctest.Eventually(t, 10*time.Second, "subscribed", s.Subscribed)
	peer.publish(topicTasks, 5)
	sfdctest.Eventually(t, 10*time.Second, "first 5 events", func() bool { return rec.count(topicTasks) == 5 })

	// Killed mid long poll: the stream retries connect, reaches the new
	// process, is told its client is unknown and starts a new session.
	peer.stop()
	peer = startFaye(t, port)
	sfdctest.Eventually(t, 20*time.Second, "resubscribed to the new faye", func() bool {
		return s.Subscribed() && peer.stats().Subscribes == 2
	})
	// The new process numbers from 1 again and replays nothing: the stream
	// must say so (a gap per channel) and must not drop the new ids as
	// duplicates of the old ones.
	for _, ch := range []string{topicTasks, topicConvs} {
		if g := rec.gapsFor(ch); len(g) != 1 || !strings.Contains(g[0], "replay") {
			t.Errorf("%s gaps = %q, want one about missing replay", ch, joinGaps(g))
		}
	}
	peer.publish(topicTasks, 7)
	peer.publish(topicConvs, 3)
	sfdctest.Eventually(t, 10*time.Second, "events after the restart", func() bool { return rec.count(topicTasks) == 12 && rec.count(topicConvs) == 3 })
	ids := rec.ids(topicTasks)
	if fmt.Sprint(ids) != "[1 2 3 4 5 1 2 3 4 5 6 7]" {
		t.Errorf("task ids %v", ids)
	}
	if st := peer.stats(); st.Handshakes != 1 || st.MissingCookie != 0 {
		t.Errorf("new faye stats %+v: want exactly one handshake, every request with its cookie", st)
	}
	if st := s.Stats(); st.Reconnects[CauseUnknownClient]+st.Reconnects[CauseNetwork] < 1 || st.Handshakes < 2 {
		t.Errorf("stream stats %+v", st)
	}
	if auth.Reauths() != 0 {
		t.Errorf("re-authenticated %d times; a restart is not an auth failure", auth.Reauths())
	}
}
