package testenv

import (
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
