package testenv

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A keyspace that cannot be dropped (here: its node is gone) is a warning
// naming it, never a change of the tests' exit code, whether they passed or
// failed.
func TestCleanupFailureKeepsExitCode(t *testing.T) {
	for _, code := range []int{0, 1} {
		e := New("testenv_gone")
		e.hosts = []string{"127.0.0.1:1"}
		e.ksCreated = true
		var out strings.Builder
		p := dropPolicy{timeouts: []time.Duration{5 * time.Second, 5 * time.Second}, backoff: time.Millisecond}
		if got := e.finish(code, &out, p); got != code {
			t.Errorf("tests exited %d, finish returned %d", code, got)
		}
		for _, want := range []string{
			"drop keyspace " + e.keyspace + ", attempt 1 of 2",
			"testenv: warning: drop keyspace " + e.keyspace + " failed 2 times",
			"keyspace " + e.keyspace + " is left behind",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	}
}

// An attempt that times out is followed by another, which drops the
// keyspace: the run stays green and prints no warning.
func TestCleanupRetriesTheDrop(t *testing.T) {
	e := New("testenv_retry")
	if err := e.ensureKeyspace(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	// The first attempt cannot even connect in a nanosecond.
	p := dropPolicy{timeouts: []time.Duration{time.Nanosecond, time.Minute}, backoff: time.Millisecond}
	if got := e.finish(0, &out, p); got != 0 {
		t.Fatalf("finish returned %d", got)
	}
	if !strings.Contains(out.String(), "attempt 1 of 2") || strings.Contains(out.String(), "warning") {
		t.Fatalf("want one retried attempt and no warning, got:\n%s", out.String())
	}
	s, err := connectCassandra(e.hosts, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Query(`SELECT COUNT(*) FROM system_schema.keyspaces WHERE keyspace_name = ?`, e.keyspace).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("keyspace %s still exists after cleanup", e.keyspace)
	}
}

// WaitFor returns once the condition holds, and fails the test with the
// condition's last error when it never does.
func TestWaitFor(t *testing.T) {
	calls := 0
	WaitFor(t, time.Minute, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3", calls)
	}
	var failed bool
	var msg string
	done := make(chan struct{})
	// A failing TB runs on its own goroutine: Fatalf ends it with Goexit.
	go func() {
		defer close(done)
		rec := &recorder{TB: t}
		defer func() { failed, msg = rec.failed, rec.msg }()
		WaitFor(rec, 20*time.Millisecond, func() error { return errors.New("never") })
	}()
	<-done
	if !failed || !strings.Contains(msg, "never") {
		t.Fatalf("failed %v with %q, want a failure naming the last error", failed, msg)
	}
}

// recorder is a testing.TB whose Fatalf records the failure and stops the
// goroutine, without failing the real test.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitUntil(t *testing.T) {
	calls := 0
	WaitUntil(t, time.Minute, "not yet", func() bool { calls++; return calls == 2 })
	if calls != 2 {
		t.Fatalf("cond called %d times, want 2", calls)
	}
	var failed bool
	var msg string
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := &recorder{TB: t}
		defer func() { failed, msg = rec.failed, rec.msg }()
		WaitUntil(rec, 20*time.Millisecond, "the thing never happened", func() bool { return false })
	}()
	<-done
	if !failed || !strings.Contains(msg, "the thing never happened") {
		t.Fatalf("failed %v with %q, want a failure naming what was awaited", failed, msg)
	}
}
