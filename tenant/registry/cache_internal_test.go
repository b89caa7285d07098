package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// fakeRead is a registry read for the cache that answers from status (empty: no
// such tenant; so are ids with unknownPrefix), counts its calls and records when each was made.
type fakeRead struct {
	mu     sync.Mutex
	status Status
	err    error
	calls  int
	last   time.Time
	gate   chan struct{} // when set, reads wait for it to close

	unknownPrefix string // ids with this prefix are unknown
}

func (f *fakeRead) read(ctx context.Context, id string) (entry, error) {
	f.mu.Lock()
	f.calls++
	f.last = time.Now()
	gate, st, err := f.gate, f.status, f.err
	if f.unknownPrefix != "" && strings.HasPrefix(id, f.unknownPrefix) {
		st = ""
	}
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return entry{}, ctx.Err()
		}
	}
	if err != nil {
		return entry{}, err
	}
	return entry{found: st != "", status: st}, nil
}

func (f *fakeRead) set(st Status) {
	f.mu.Lock()
	f.status = st
	f.mu.Unlock()
}

func (f *fakeRead) stats() (int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.last
}

// TestCacheStaleness: an answer is served from the cache, and never when it is
// MaxStaleness old or older: after a change, a stale answer is only given while
// the read it came from was sent less than ttl before the call.
func TestCacheStaleness(t *testing.T) {
	const ttl = 150 * time.Millisecond
	f := &fakeRead{status: StatusActive}
	c := newCache(100, ttl, f.read)
	ctx := t.Context()
	if e, err := c.get(ctx, "acme"); err != nil || e.status != StatusActive {
		t.Fatalf("first get: %+v, %v", e, err)
	}
	for range 100 {
		if _, err := c.get(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := f.stats(); n != 1 {
		t.Fatalf("%d reads for 101 gets within the staleness bound, want 1", n)
	}
	f.set(StatusSuspended)
	_, sent := f.stats()
	testenv.WaitFor(t, 5*time.Second, func() error {
		before := time.Now()
		e, err := c.get(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if e.status == StatusActive {
			if age := before.Sub(sent); age >= ttl {
				t.Fatalf("served an answer %v old, past the bound of %v", age, ttl)
			}
			return errors.New("still active")
		}
		return nil
	})
}

// TestCacheOneReadPerMiss: concurrent misses for one id share one read, and each
// caller gets its answer.
func TestCacheOneReadPerMiss(t *testing.T) {
	f := &fakeRead{status: StatusActive, gate: make(chan struct{})}
	c := newCache(100, time.Minute, f.read)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 50 {
		wg.Go(func() {
			if e, err := c.get(t.Context(), "acme"); err == nil && e.status == StatusActive {
				ok.Add(1)
			}
		})
	}
	testenv.WaitUntil(t, 5*time.Second, "a read started", func() bool { n, _ := f.stats(); return n > 0 })
	close(f.gate)
	wg.Wait()
	if n, _ := f.stats(); n != 1 || ok.Load() != 50 {
		t.Errorf("%d reads, %d good answers; want 1 and 50", n, ok.Load())
	}
}

// TestCacheCallerGivesUp: a caller whose context ends stops waiting; the read goes
// on for the others and is kept.
func TestCacheCallerGivesUp(t *testing.T) {
	f := &fakeRead{status: StatusActive, gate: make(chan struct{})}
	c := newCache(100, time.Minute, f.read)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.get(ctx, "acme"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled get: %v", err)
	}
	close(f.gate)
	testenv.WaitUntil(t, 5*time.Second, "the read was kept", func() bool { k, _ := c.len(); return k == 1 })
	if _, err := c.get(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.stats(); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
}

// TestCacheErrorsNotCached: a failed read is returned as it is and not kept: the
// next call reads again.
func TestCacheErrorsNotCached(t *testing.T) {
	boom := errors.New("registry unreachable")
	f := &fakeRead{err: boom}
	c := newCache(100, time.Minute, f.read)
	for range 3 {
		if _, err := c.get(t.Context(), "acme"); !errors.Is(err, boom) {
			t.Fatalf("get: %v", err)
		}
	}
	if n, _ := f.stats(); n != 3 {
		t.Errorf("%d reads for 3 failing gets, want 3", n)
	}
}

// TestCacheUnknownBounded: unknown ids are cached, but a flood of them stays within
// their quarter of the cache and evicts no known tenant.
func TestCacheUnknownBounded(t *testing.T) {
	f := &fakeRead{status: StatusActive, unknownPrefix: "random-"}
	c := newCache(8, time.Minute, f.read) // 6 known, 2 unknown
	for i := range 6 {
		if _, err := c.get(t.Context(), fmt.Sprintf("known-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		e, err := c.get(t.Context(), fmt.Sprintf("random-%d", i))
		if err != nil || e.found {
			t.Fatalf("unknown id: %+v, %v", e, err)
		}
	}
	if k, u := c.len(); k != 6 || u != 2 {
		t.Errorf("the cache holds %d known and %d unknown entries, want 6 and 2", k, u)
	}
	// Unknown ids are cached too: asking again does not read.
	n, _ := f.stats()
	if _, err := c.get(t.Context(), "random-999"); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.stats(); m != n {
		t.Error("a recent unknown id was read again")
	}
	// The flood evicted no known tenant.
	for i := range 10 {
		if _, err := c.get(t.Context(), fmt.Sprintf("known-%d", i%6)); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := f.stats(); m != n {
		t.Errorf("%d reads of known tenants after the flood, want none", m-n)
	}
	// More known tenants than room: the cache stays at its bound.
	for i := range 100 {
		if _, err := c.get(t.Context(), fmt.Sprintf("more-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if k, _ := c.len(); k != 6 {
		t.Errorf("%d known entries, want 6", k)
	}
}

// TestCacheInvalidate: after invalidate, the next call reads afresh, and a read that
// was in flight when it came is not kept.
func TestCacheInvalidate(t *testing.T) {
	f := &fakeRead{status: StatusActive}
	c := newCache(100, time.Minute, f.read)
	if _, err := c.get(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	f.set(StatusSuspended)
	c.invalidate("acme")
	if e, _ := c.get(t.Context(), "acme"); e.status != StatusSuspended {
		t.Fatalf("after invalidate: %+v", e)
	}

	// A read in flight across an invalidation is handed to its callers, not kept.
	f.set(StatusActive)
	c.invalidate("acme")
	f.mu.Lock()
	f.gate = make(chan struct{})
	f.mu.Unlock()
	done := make(chan entry)
	go func() { e, _ := c.get(context.Background(), "acme"); done <- e }()
	testenv.WaitUntil(t, 5*time.Second, "a read started", func() bool { n, _ := f.stats(); return n == 3 })
	c.invalidate("acme")
	f.mu.Lock()
	close(f.gate)
	f.gate = nil
	f.mu.Unlock()
	<-done
	if k, _ := c.len(); k != 0 {
		t.Errorf("a read from before an invalidation was kept")
	}
}
