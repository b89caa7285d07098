package eventsourcing_test

import (
	"errors"

	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

func loadAll(t *testing.T, s *eventsourcing.Store, stream string, from int64) []eventsourcing.Record {
	t.Helper()
	var out []eventsourcing.Record
	for r, err := range s.Load(t.Context(), stream, from) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestAppendLoadAcrossBuckets(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "bk", eventsourcing.StoreConfig{BucketSize: 5})
	ctx := t.Context()
	v := int64(0)
	// Appends of 1..4 events, crossing bucket boundaries many times.
	for i := range 12 {
		n := i%4 + 1
		evs := make([]eventsourcing.EventData, n)
		for j := range evs {
			evs[j] = added(t, reg, int(v)+j+1)
			evs[j].Metadata = eventsourcing.Metadata{CorrelationID: "c", Actor: "tester", Extra: map[string]string{"k": "v"}}
		}
		nv, err := s.Append(ctx, "bk-stream", v, evs)
		if err != nil {
			t.Fatalf("append %d at %d: %v", i, v, err)
		}
		if nv != v+int64(n) {
			t.Fatalf("new version %d, want %d", nv, v+int64(n))
		}
		v = nv
	}
	recs := loadAll(t, s, "bk-stream", 1)
	if int64(len(recs)) != v {
		t.Fatalf("loaded %d events, want %d", len(recs), v)
	}
	for i, r := range recs {
		if r.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, r.Version)
		}
		ev, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if ev.(Added).N != i+1 {
			t.Fatalf("event %d is %+v", i, ev)
		}
		if r.Metadata.CorrelationID != "c" || r.Metadata.Actor != "tester" || r.Metadata.Extra["k"] != "v" {
			t.Fatalf("metadata %+v", r.Metadata)
		}
	}
	// Load from the middle, including from inside a multi-bucket append.
	for _, from := range []int64{2, 5, 6, 11, v} {
		got := loadAll(t, s, "bk-stream", from)
		if int64(len(got)) != v-from+1 || got[0].Version != from {
			t.Fatalf("load from %d: %d events starting at %d", from, len(got), got[0].Version)
		}
	}
	if cur, err := s.Version(ctx, "bk-stream"); err != nil || cur != v {
		t.Fatalf("version %d %v", cur, err)
	}
	// A stale or too-new expected version is refused with the current version.
	for _, exp := range []int64{0, v - 1, v + 1, v + 7} {
		_, err := s.Append(ctx, "bk-stream", exp, []eventsourcing.EventData{added(t, reg, 0)})
		var ce *eventsourcing.ConcurrencyError
		if !errors.As(err, &ce) || ce.Current != v || ce.Expected != exp {
			t.Fatalf("append at %d: %v", exp, err)
		}
	}
	if got := loadAll(t, s, "bk-stream", 1); int64(len(got)) != v {
		t.Fatalf("refused appends wrote events: %d", len(got))
	}
}

func TestAppendIdempotentByEventID(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "idem", eventsourcing.StoreConfig{})
	ctx := t.Context()
	evs := []eventsourcing.EventData{added(t, reg, 1), added(t, reg, 2)}
	evs[0].ID, evs[1].ID = orm.NewUUID(), orm.NewUUID()
	if _, err := s.Append(ctx, "idem", 0, evs); err != nil {
		t.Fatal(err)
	}
	// The same append again (a retry after a timeout): success, nothing doubled.
	if v, err := s.Append(ctx, "idem", 0, evs); err != nil || v != 2 {
		t.Fatalf("retried append: %d %v", v, err)
	}
	if n := len(loadAll(t, s, "idem", 1)); n != 2 {
		t.Fatalf("%d events after a retried append", n)
	}
	// Other events at that version are a conflict.
	if _, err := s.Append(ctx, "idem", 0, []eventsourcing.EventData{added(t, reg, 1)}); !errors.Is(err, eventsourcing.ErrConcurrency) {
		t.Fatalf("different events: %v", err)
	}
}

// 100 goroutines append at the same expected version, round after round: exactly
// one wins each round, versions have no gaps, and the stored events are exactly the
// acknowledged ones.
func TestConcurrentAppendsOneWinnerPerRound(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "race", eventsourcing.StoreConfig{BucketSize: 7})
	ctx := t.Context()
	const writers, rounds = 100, 12
	v := int64(0)
	var acked []int // the N of each acknowledged event, in version order
	for round := range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		var won []int
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 1 + w%3
				evs := make([]eventsourcing.EventData, n)
				ns := make([]int, n)
				for j := range evs {
					ns[j] = round*100000 + w*10 + j
					evs[j] = added(t, reg, ns[j])
				}
				_, err := s.Append(ctx, "race", v, evs)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners++
					won = ns
				case errors.Is(err, eventsourcing.ErrConcurrency):
				default:
					t.Errorf("round %d writer %d: %v", round, w, err)
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("round %d: %d winners", round, winners)
		}
		acked = append(acked, won...)
		v += int64(len(won))
	}
	recs := loadAll(t, s, "race", 1)
	var stored []int
	for i, r := range recs {
		if r.Version != int64(i+1) {
			t.Fatalf("gap: event %d has version %d", i, r.Version)
		}
		ev, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, ev.(Added).N)
	}
	if !slices.Equal(stored, acked) {
		t.Fatalf("stored %v\nacked  %v", stored, acked)
	}
}

func TestUndecodableEventsNameStreamAndVersion(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "bad", eventsourcing.StoreConfig{})
	ctx := t.Context()
	evs := []eventsourcing.EventData{
		added(t, reg, 1),
		{Type: "Vanished", SchemaVersion: 1, Data: []byte(`{}`)},
		{Type: "Added", SchemaVersion: 1, Data: []byte(`{not json`)},
		{Type: "Added", SchemaVersion: 9, Data: []byte(`{"n":1}`)},
	}
	if _, err := s.Append(ctx, "bad-stream", 0, evs); err != nil {
		t.Fatal(err)
	}
	recs := loadAll(t, s, "bad-stream", 1)
	cases := []struct {
		is   error
		want string
	}{
		{nil, ""},
		{eventsourcing.ErrUnknownEventType, `"Vanished" at stream bad-stream version 2`},
		{eventsourcing.ErrCorruptEvent, "Added at stream bad-stream version 3"},
		{eventsourcing.ErrCorruptEvent, "version 4 has schema version 9"},
	}
	for i, c := range cases {
		_, err := reg.Decode(recs[i])
		if c.is == nil {
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("event %d: %v, want %v containing %q", i+1, err, c.is, c.want)
		}
	}
	// Through a repository the load fails with the same details.
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	if _, err := repo.Load(ctx, "bad-stream"); !errors.Is(err, eventsourcing.ErrUnknownEventType) || !strings.Contains(err.Error(), "bad-stream version 2") {
		t.Fatalf("repository load: %v", err)
	}
}

func TestUpcasting(t *testing.T) {
	// Version 1 of Added stored {"count": n}; version 2 calls it {"n": n}.
	old := eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[Added](old, 1); err != nil {
		t.Fatal(err)
	}
	reg := eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[Added](reg, 2); err != nil {
		t.Fatal(err)
	}
	err := reg.Upcast("Added", 1, func(data []byte) ([]byte, error) {
		return []byte(strings.Replace(string(data), `"count"`, `"n"`, 1)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := eventsourcing.Record{Stream: "s", Version: 1, Type: "Added", SchemaVersion: 1, Data: []byte(`{"count":41}`)}
	ev, err := reg.Decode(rec)
	if err != nil || ev.(Added).N != 41 {
		t.Fatalf("upcast: %+v %v", ev, err)
	}
	if _, err := old.Decode(eventsourcing.Record{Type: "Added", SchemaVersion: 2, Data: []byte(`{"n":1}`)}); !errors.Is(err, eventsourcing.ErrCorruptEvent) {
		t.Fatalf("newer schema on an old program: %v", err)
	}
}
