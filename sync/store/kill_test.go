package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGKILL tests: the test binary re-executes itself as a child (helperEnv
// names what the child does), the parent kills it with SIGKILL at a random
// point and checks the store on reopen.

const (
	helperEnv    = "SB_STORE_HELPER"
	helperURLEnv = "SB_STORE_HELPER_URL"
)

// runHelper is the child's main.
func runHelper(mode string) int {
	ctx := context.Background()
	o := testOptions()
	o.RescueStuckJobsAfter, o.JobTimeout = 2*time.Second, time.Second
	s, err := Open(ctx, os.Getenv(helperURLEnv), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch mode {
	case "enqueue":
		// A key is printed only after the call that stored it returned.
		for i := 0; ; i++ {
			if i%10 == 9 {
				keys := make([]Job, 5)
				for j := range keys {
					keys[j] = Job{Kind: "kill", Key: fmt.Sprintf("b%d-%d", i, j)}
				}
				if err := s.EnqueueAndCheckpoint(ctx, keys, "ch", int64(i)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
				for _, k := range keys {
					fmt.Println("key", k.Key)
				}
				fmt.Println("ckpt", i)
				continue
			}
			key := fmt.Sprintf("k%d", i)
			if err := s.Enqueue(ctx, Job{Kind: "kill", Key: key, Payload: []byte(`{"i":` + strconv.Itoa(i) + `}`)}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Println("key", key)
		}
	case "work":
		if err := s.Handle("killwork", func(ctx context.Context, j Job) error {
			fmt.Println("start", j.Key)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
			}
			return nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := s.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		select {}
	}
	return 3
}

// child starts the helper and returns its stdout lines as they come.
func child(t *testing.T, mode, url string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperURLEnv+"="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, lines
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func TestSIGKILLDuringEnqueueLosesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		// Create the schema first so the kill lands in the enqueue loop.
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close(bg)

		cmd, lines := child(t, "enqueue", url)
		var printed []string
		lastCkpt := int64(-1)
		read := func(l string) {
			switch {
			case strings.HasPrefix(l, "key "):
				printed = append(printed, strings.TrimPrefix(l, "key "))
			case strings.HasPrefix(l, "ckpt "):
				lastCkpt, _ = strconv.ParseInt(strings.TrimPrefix(l, "ckpt "), 10, 64)
			}
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the child exited before enqueueing anything")
			}
			read(l)
		case <-time.After(20 * time.Second):
			t.Fatal("the child printed nothing")
		}
		time.Sleep(time.Duration(200+rand.IntN(500)) * time.Millisecond)
		kill9(t, cmd)
		for l := range lines { // everything the child printed before dying
			read(l)
		}
		_ = cmd.Wait()
		if len(printed) < 10 {
			t.Fatalf("only %d keys printed before the kill", len(printed))
		}

		s = openStore(t, url, testOptions())
		stored := jobKeys(t, s, "kill")
		for _, k := range printed {
			if stored[k] != 1 {
				t.Fatalf("key %s was printed (Enqueue returned) but is stored %d times; %d printed, %d stored", k, stored[k], len(printed), len(stored))
			}
		}
		if lastCkpt >= 0 {
			if id, ok, _ := s.Checkpoint(bg, "ch"); !ok || id < lastCkpt {
				t.Fatalf("checkpoint %d (ok=%v), want at least %d", id, ok, lastCkpt)
			}
		}
		t.Logf("%d keys printed before SIGKILL, %d stored, all printed ones present", len(printed), len(stored))
	})
}

func TestSIGKILLDuringWorkRescuesEveryJob(t *testing.T) {
	// SQLite here; TestSIGKILLedJobsTakenOverSoon runs both backends and
	// times the rescue.
	url := sqliteURL(t)
	const n = 200
	killMidWork(t, url, n, 150*time.Millisecond)

	o := testOptions()
	o.RescueStuckJobsAfter, o.JobTimeout = 2*time.Second, time.Second
	s := openStore(t, url, o)
	atKill := jobStates(t, s, "killwork")
	if atKill["running"] == 0 {
		t.Fatalf("no job was running at the kill: %v", atKill)
	}
	ran := make(chan string, n*2)
	if err := s.Handle("killwork", func(ctx context.Context, j Job) error { ran <- j.Key; return nil }); err != nil {
		t.Fatal(err)
	}
	start(t, s)
	end := time.Now().Add(45 * time.Second)
	for jobStates(t, s, "killwork")["completed"] < n {
		if time.Now().After(end) {
			t.Fatalf("not every job completed after the restart: %v", jobStates(t, s, "killwork"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if done := jobKeys(t, s, "killwork", "completed"); len(done) != n {
		t.Fatalf("%d distinct jobs completed, want %d", len(done), n)
	}
	t.Logf("at the kill: %v; after restart all %d completed (the running ones rescued)", atKill, n)
}

// TestSIGKILLedJobsTakenOverSoon: a process dies with jobs running; another
// one (a replica, or the same one restarted) runs them again once the dead
// one's heartbeat is older than LivenessWindow (its row stays: SIGKILL
// deletes nothing) and the attempts are older than JobTimeout, within
// LivenessWindow + JobTimeout + 1 s, on either backend, whoever is River's
// leader. River's own rescuer alone waits for the dead leader's lease and
// then checks every 30 s: 15 to 45 s.
func TestSIGKILLedJobsTakenOverSoon(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		const n = 200
		killed := killMidWork(t, url, n, 0)

		o := testOptions()
		o.RescueStuckJobsAfter, o.JobTimeout = 2*time.Second, time.Second // as the child's
		s := openStore(t, url, o)
		atKill := jobStates(t, s, "killwork")
		if atKill["running"] == 0 {
			t.Fatalf("no job was running at the kill: %v", atKill)
		}
		if rows := heartbeats(t, s); len(rows) != 1 {
			t.Fatalf("heartbeat rows after the kill: %v, want the dead child's one", rows)
		}
		if err := s.Handle("killwork", func(ctx context.Context, j Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		o, _ = o.withDefaults()
		limit := o.LivenessWindow + o.JobTimeout + time.Second
		for jobStates(t, s, "killwork")["completed"] < n {
			if time.Since(killed) > limit {
				t.Fatalf("%s after the kill, not every job has run again: %v (at the kill: %v)", limit, jobStates(t, s, "killwork"), atKill)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%d jobs running at the kill; all %d done %s after it (liveness window %s, job timeout %s)", atKill["running"], n,
			time.Since(killed).Round(100*time.Millisecond), o.LivenessWindow, o.JobTimeout)
	})
}

// killMidWork enqueues n "killwork" jobs in url, starts the "work" helper on
// them and SIGKILLs it once ten handlers have started. It returns when the
// child is dead, with the moment of the kill.
func killMidWork(t *testing.T, url string, n int, jitter time.Duration) time.Time {
	t.Helper()
	s, err := Open(bg, url, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	jobs := make([]Job, n)
	for i := range jobs {
		jobs[i] = Job{Kind: "killwork", Key: fmt.Sprintf("w%03d", i)}
	}
	if err := s.Enqueue(bg, jobs...); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(bg)

	cmd, lines := child(t, "work", url)
	started := 0
	deadline := time.After(20 * time.Second)
	for started < 10 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the child exited")
			}
			if strings.HasPrefix(l, "start ") {
				started++
			}
		case <-deadline:
			t.Fatal("the child's handlers never started")
		}
	}
	if jitter > 0 {
		time.Sleep(time.Duration(rand.Int64N(int64(jitter))))
	}
	kill9(t, cmd)
	killed := time.Now()
	_ = cmd.Wait()
	return killed
}
