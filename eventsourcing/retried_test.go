package eventsourcing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// cutter is an orm.Observer that ends a context right after the next conditional
// batch on a stream bucket returns, so the reads that follow it in the same append
// fail: a deterministic stand-in for a deadline that passes at that point.
type cutter struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

// arm makes the next conditional batch end the context it returns.
func (c *cutter) arm(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	return ctx
}

func (c *cutter) ObserveQuery(_ context.Context, e orm.QueryEvent) {
	if e.Op != "batch" || !strings.Contains(e.Statement, "LOGGED") || !strings.Contains(e.Statement, "_events") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
}

// An append retried after its first attempt applied, whose refused batch is followed
// by reads that fail (the context ends just then), is never told "conflict": the
// outcome is unknown, and says so; a retry with a live context then succeeds, and the
// events are stored once.
func TestRetriedAppendWithFailedReadsIsNotAConflict(t *testing.T) {
	reg := registry(t)
	cases := []struct {
		name   string
		before int // events in the stream before the append under test
	}{
		// Expected 9, two events: the head moves to 11, past bucket 0's span, so the
		// refusal's head does not tell the stream's version and it must be read.
		{"head past the bucket", 9},
		// Expected 10, two events: the append opened bucket 1 (rollover); the retry
		// is refused in bucket 1 and must read which events it holds.
		{"rollover", 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cut := &cutter{}
			s := newObservedStore(t, "retried", eventsourcing.StoreConfig{BucketSize: 10}, cut)
			stream := orm.NewUUID().String()
			first := make([]eventsourcing.EventData, c.before)
			for i := range first {
				first[i] = added(t, reg, i)
			}
			if _, err := s.Append(t.Context(), stream, 0, first); err != nil {
				t.Fatal(err)
			}
			evs := []eventsourcing.EventData{added(t, reg, 100), added(t, reg, 101)}
			evs[0].ID, evs[1].ID = orm.NewUUID(), orm.NewUUID()
			expected := int64(c.before)
			if _, err := s.Append(t.Context(), stream, expected, evs); err != nil {
				t.Fatal(err)
			}
			// The retry (its reply was lost, say): the context ends as soon as its
			// conditional batch has been refused.
			_, err := s.Append(cut.arm(t.Context()), stream, expected, evs)
			var ce *eventsourcing.ConcurrencyError
			switch {
			case err == nil:
				t.Fatal("the retry's context was not cut after its refused batch: nothing was tested")
			case errors.As(err, &ce):
				t.Fatalf("retry of an applied append: definite conflict %v (current %d)", err, ce.Current)
			case !errors.Is(err, orm.ErrUncertain) || !strings.Contains(err.Error(), stream):
				t.Fatalf("retry with failed reads: %v, want an unknown outcome (orm.ErrUncertain) naming the stream", err)
			}
			if v, err := s.Append(t.Context(), stream, expected, evs); err != nil || v != expected+2 {
				t.Fatalf("retry with a live context: %d, %v; want %d", v, err, expected+2)
			}
			recs := loadAll(t, s, stream, 1)
			if int64(len(recs)) != expected+2 || recs[expected].ID != evs[0].ID || recs[expected+1].ID != evs[1].ID {
				t.Fatalf("stream holds %d events, want %d ending with the retried ones", len(recs), expected+2)
			}
		})
	}
}

// Appends refused for certain, whose follow-up reads fail, say so without guessing:
// a conflict's current version is read or CurrentUnknown, never a made-up 0.
func TestRefusedAppendWithFailedReads(t *testing.T) {
	reg := registry(t)
	cases := []struct {
		name     string
		before   int64 // events in the stream, appended in one go at 0
		other    int   // events another writer appends at expected
		expected int64
		n        int // events of the append under test
		check    func(t *testing.T, err error)
	}{
		{
			// Refused in bucket 0 with head 11: past the bucket, so the version
			// must be read, and that read fails.
			name: "conflict past the bucket", before: 8, other: 3, expected: 8, n: 5,
			check: func(t *testing.T, err error) {
				var ce *eventsourcing.ConcurrencyError
				if !errors.As(err, &ce) || ce.Current != eventsourcing.CurrentUnknown || errors.Is(err, orm.ErrUncertain) {
					t.Fatalf("%v, want a certain conflict with current version unknown", err)
				}
			},
		},
		{
			// The first append in bucket 1 is refused there (no head yet); the read
			// of bucket 0 that decides the rollover fails: nothing was appended.
			name: "rollover read fails", before: 10, expected: 10, n: 1,
			check: func(t *testing.T, err error) {
				if err == nil || errors.Is(err, eventsourcing.ErrConcurrency) || errors.Is(err, orm.ErrUncertain) ||
					!strings.Contains(err.Error(), "nothing was appended") {
					t.Fatalf("%v, want a plain error saying nothing was appended", err)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cut := &cutter{}
			s := newObservedStore(t, "refusedreads", eventsourcing.StoreConfig{BucketSize: 10}, cut)
			stream := orm.NewUUID().String()
			evs := func(n int) []eventsourcing.EventData {
				out := make([]eventsourcing.EventData, n)
				for i := range out {
					out[i] = added(t, reg, i)
				}
				return out
			}
			if _, err := s.Append(t.Context(), stream, 0, evs(int(c.before))); err != nil {
				t.Fatal(err)
			}
			want := c.before
			if c.other > 0 {
				v, err := s.Append(t.Context(), stream, c.expected, evs(c.other))
				if err != nil {
					t.Fatal(err)
				}
				want = v
			}
			_, err := s.Append(cut.arm(t.Context()), stream, c.expected, evs(c.n))
			c.check(t, err)
			if !strings.Contains(err.Error(), stream) {
				t.Fatalf("%v does not name the stream", err)
			}
			if got := int64(len(loadAll(t, s, stream, 1))); got != want {
				t.Fatalf("stream holds %d events, want %d", got, want)
			}
		})
	}
}

// Appends cut short at every point of their course and retried with the same events
// until they succeed, by one writer and by ten at once (whose write-ahead entries
// share group writes): a plain projection (no InStreamOrder, no crash) sees every
// stored event exactly once, although the failed attempts left feed entries of their
// own, and sees nothing that is not stored.
func TestRetriedAppendsDeliverEachEventOnce(t *testing.T) {
	for _, writers := range []int{1, 10} {
		t.Run(fmt.Sprint("writers=", writers), func(t *testing.T) {
			retriedAppendsOnce(t, writers, 150/writers)
		})
	}
}

func retriedAppendsOnce(t *testing.T, writers, each int) {
	reg := registry(t)
	s := newStore(t, fmt.Sprint("dedupe", writers), eventsourcing.StoreConfig{FeedLag: fastLag, AbandonAfter: time.Second})
	var mu sync.Mutex
	failed := 0
	var streams []string
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions := make([]int64, 5)
			for i := range each {
				k := i % 5
				stream := fmt.Sprintf("d-%d-%d-%d", writers, w, k)
				if i < 5 {
					mu.Lock()
					streams = append(streams, stream)
					mu.Unlock()
				}
				evs := []eventsourcing.EventData{added(t, reg, i), added(t, reg, i)}
				evs[0].ID, evs[1].ID = orm.NewUUID(), orm.NewUUID()
				timeout := time.Duration(300+((i*writers+w)%25)*100) * time.Microsecond
				for attempt := 0; ; attempt++ {
					ctx, cancel := t.Context(), context.CancelFunc(func() {})
					if attempt < 6 {
						ctx, cancel = context.WithTimeout(t.Context(), timeout<<attempt)
					}
					v, err := s.Append(ctx, stream, versions[k], evs)
					cancel()
					if err == nil {
						versions[k] = v
						break
					}
					// Past the cut-short attempts, a loaded node can still make
					// an attempt fail (a feed write late for the lag, say): retry
					// like any caller, a bounded number of times.
					if errors.Is(err, eventsourcing.ErrConcurrency) || attempt >= 50 {
						t.Errorf("%s: attempt %d: %v", stream, attempt, err)
						return
					}
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// A last event, appended for certain: once the projection has it, it has
	// passed every entry written before it.
	marker := added(t, reg, -1)
	marker.ID = orm.NewUUID()
	if _, err := s.Append(t.Context(), fmt.Sprint("d-marker-", writers), 0, []eventsourcing.EventData{marker}); err != nil {
		t.Fatal(err)
	}
	stored := map[orm.UUID]bool{marker.ID: true}
	for _, stream := range streams {
		for r, err := range s.Load(t.Context(), stream, 1) {
			if err != nil {
				t.Fatal(err)
			}
			stored[r.ID] = true
		}
	}
	if want := writers*each*2 + 1; len(stored) != want {
		t.Fatalf("%d events stored, want %d", len(stored), want)
	}

	seen := map[orm.UUID]int{}
	done := make(chan struct{})
	proj := eventsourcing.Projection{Name: fmt.Sprint("dedupe-", writers), Handle: func(ctx context.Context, e eventsourcing.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		seen[e.ID]++
		if e.ID == marker.ID {
			close(done)
		}
		return nil
	}}
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx, proj) }()
	select {
	case <-done:
	case err := <-ran:
		t.Fatalf("projection stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the projection did not reach the last event in two minutes")
	}
	stop()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("projection: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for id := range stored {
		switch n := seen[id]; {
		case n == 0:
			t.Errorf("stored event %s was not delivered", id)
		case n > 1:
			dups++
			t.Errorf("stored event %s was delivered %d times", id, n)
		}
	}
	for id := range seen {
		if !stored[id] {
			t.Errorf("delivered %s, which no stream holds", id)
		}
	}
	t.Logf("%d writers: %d attempts failed; %d events stored, %d delivered more than once", writers, failed, len(stored), dups)
}
