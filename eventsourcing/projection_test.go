package eventsourcing_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// fastLag is the feed lag of the tests' stores: short, so they wait little, and long
// enough that an append's feed write (which must take under half of it) fits on a busy
// 2-core machine running the other packages' tests too.
const fastLag = 500 * time.Millisecond

func leases(t testing.TB) *lease.Manager {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lease.New(db, lease.Config{TTL: 2 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}

func projector(t testing.TB, s *eventsourcing.Store, lm *lease.Manager, reg *eventsourcing.Registry, cfg eventsourcing.ProjectorConfig) *eventsourcing.Projector {
	t.Helper()
	p, err := eventsourcing.NewProjector(s, lm, reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seenRow is a read model that records each event once, by id.
type seenRow struct {
	Projection string   `cql:"projection" orm:"pk"`
	EventID    orm.UUID `cql:"event_id" orm:"ck"`
	Stream     string   `cql:"stream"`
	Version    int64    `cql:"version"`
}

func seenModel(t testing.TB) *orm.Model[seenRow] {
	t.Helper()
	db, _ := orm.New(env.Session(t), env.Keyspace(), nil)
	m, err := orm.NewModel[seenRow](db, orm.TableName("seen"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func seenProjection(seen *orm.Model[seenRow], name string, handled *int) eventsourcing.Projection {
	var mu sync.Mutex
	return eventsourcing.Projection{
		Name: name,
		Handle: func(ctx context.Context, e eventsourcing.Envelope) error {
			mu.Lock()
			*handled++
			mu.Unlock()
			return seen.Insert(ctx, &seenRow{Projection: name, EventID: e.ID, Stream: e.Stream, Version: e.Version})
		},
		Reset: func(ctx context.Context) error { return seen.Delete(ctx, name) },
	}
}

func seenIDs(t testing.TB, seen *orm.Model[seenRow], name string) map[orm.UUID]seenRow {
	t.Helper()
	out := map[orm.UUID]seenRow{}
	for r, err := range seen.Query().Where(orm.Eq("projection", name)).All(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		out[r.EventID] = r
	}
	return out
}

func TestFeedOrderAndLostAppends(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "feed", eventsourcing.StoreConfig{FeedLag: fastLag, AbandonAfter: time.Second})
	ctx := t.Context()
	var want []orm.UUID
	for i := range 5 {
		stream := fmt.Sprint("feed-", i%2)
		v, _ := s.Version(ctx, stream)
		d := added(t, reg, i)
		d.ID = orm.NewUUID()
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{d}); err != nil {
			t.Fatal(err)
		}
		want = append(want, d.ID)
		// A losing append leaves nothing in the feed that readers would take.
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{added(t, reg, -1)}); !errors.Is(err, eventsourcing.ErrConcurrency) {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 1, len(want))
	entries, pos, err := s.ReadFeed(ctx, 0, eventsourcing.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("%d feed entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if e.ID != want[i] {
			t.Fatalf("entry %d is %s, want %s", i, e.ID, want[i])
		}
	}
	if pos != entries[len(entries)-1].Position {
		t.Fatalf("position %+v after the last entry %+v", pos, entries[len(entries)-1].Position)
	}
	more, _, err := s.ReadFeed(ctx, 0, pos, 100)
	if err != nil || len(more) != 0 {
		t.Fatalf("read past the end: %d %v", len(more), err)
	}
}

func TestProjectionCatchUpRebuildAndSingleRunner(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "proj", eventsourcing.StoreConfig{FeedLag: fastLag})
	seen := seenModel(t)
	ctx := t.Context()
	for i := range 30 {
		stream := fmt.Sprint("p-", i%3)
		v, _ := s.Version(ctx, stream)
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{added(t, reg, i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 1, 30)
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{Batch: 7})
	handled := 0
	proj := seenProjection(seen, "counts", &handled)
	if err := p.CatchUp(ctx, proj); err != nil {
		t.Fatal(err)
	}
	if got := len(seenIDs(t, seen, "counts")); got != 30 || handled != 30 {
		t.Fatalf("read model has %d events, handled %d", got, handled)
	}
	// Nothing new: nothing handled again.
	if err := p.CatchUp(ctx, proj); err != nil || handled != 30 {
		t.Fatalf("second catch-up handled %d (%v)", handled, err)
	}
	// Rebuild replays everything into a reset read model.
	if err := p.Rebuild(ctx, proj); err != nil {
		t.Fatal(err)
	}
	if got := len(seenIDs(t, seen, "counts")); got != 30 || handled != 60 {
		t.Fatalf("after rebuild: %d events, handled %d", got, handled)
	}
	// While one runner holds the lease, another waits.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, proj) }()
	waitLeaseHeld(t, "projection/counts")
	other := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	waitCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err := other.CatchUp(waitCtx, proj)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second runner did not wait for the lease: %v", err)
	}
	// The running projection follows new events.
	if _, err := s.Append(ctx, "p-new", 0, []eventsourcing.EventData{added(t, reg, 99)}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 30*time.Second, "running projection did not pick up a new event", func() bool {
		return len(seenIDs(t, seen, "counts")) == 31
	})
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run ended with %v", err)
	}
}

// A projection process killed mid-way (SIGKILL, no clean-up) is resumed by another
// process with no event lost.
func TestProjectionKilledMidwayResumes(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "kill", eventsourcing.StoreConfig{FeedLag: fastLag})
	seen := seenModel(t)
	ctx := t.Context()
	lm := leases(t) // creates the lease table the child uses
	const total = 400
	for i := range total {
		stream := fmt.Sprint("k-", i%10)
		v, _ := s.Version(ctx, stream)
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{added(t, reg, i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 1, total)

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=projection", "CHILD_KEYSPACE="+env.Keyspace())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has handled some but not all events.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := len(seenIDs(t, seen, "killed"))
		if n >= 50 && n < total {
			break
		}
		if n >= total || time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("child handled %d of %d events before it could be killed", n, total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before := len(seenIDs(t, seen, "killed"))

	// The survivor waits out the dead process's lease, then resumes.
	handled := 0
	p := projector(t, s, lm, reg, eventsourcing.ProjectorConfig{Batch: 25})
	if err := p.CatchUp(ctx, seenProjection(seen, "killed", &handled)); err != nil {
		t.Fatal(err)
	}
	got := seenIDs(t, seen, "killed")
	if len(got) != total {
		t.Fatalf("after resume the read model has %d of %d events (%d before the kill)", len(got), total, before)
	}
	if handled >= total {
		t.Fatalf("the resumed run handled %d events: it did not start from the checkpoint", handled)
	}
	t.Logf("killed after %d events; the resumed run handled %d (at-least-once redelivery: %d)", before, handled, handled-(total-before))
}

// projectionChild is the process TestProjectionKilledMidwayResumes kills: it runs the
// "killed" projection slowly until it is killed.
func projectionChild() error {
	ctx := context.Background()
	db, reg, s, err := childStore(ctx, eventsourcing.StoreConfig{Prefix: "kill", FeedLag: fastLag})
	if err != nil {
		return err
	}
	seen, err := orm.NewModel[seenRow](db, orm.TableName("seen"))
	if err != nil {
		return err
	}
	lm, err := lease.New(db, lease.Config{TTL: 2 * time.Second})
	if err != nil {
		return err
	}
	handled := 0
	proj := seenProjection(seen, "killed", &handled)
	inner := proj.Handle
	proj.Handle = func(ctx context.Context, e eventsourcing.Envelope) error {
		if handled >= 60 { // stop mid-way and wait there to be killed
			<-ctx.Done()
		}
		return inner(ctx, e)
	}
	p, err := eventsourcing.NewProjector(s, lm, reg, eventsourcing.ProjectorConfig{Batch: 10})
	if err != nil {
		return err
	}
	return p.Run(ctx, proj)
}

// A runner whose checkpoint was taken over by another holder (it lost its lease
// while paused) stops at its next save instead of overwriting the successor's.
func TestProjectionFencedByCheckpointOwner(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "fence", eventsourcing.StoreConfig{FeedLag: fastLag})
	seen := seenModel(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "f", 0, []eventsourcing.EventData{added(t, reg, 1)}); err != nil {
		t.Fatal(err)
	}
	handled := 0
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{Poll: 50 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, seenProjection(seen, "fenced", &handled)) }()
	testenv.WaitUntil(t, 30*time.Second, "the projection handled nothing", func() bool {
		return len(seenIDs(t, seen, "fenced")) > 0
	})
	if err := env.Session(t).Query(`UPDATE fence_checkpoints SET owner = 'successor' WHERE name = 'projection/fenced'`).Exec(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "f", 1, []eventsourcing.EventData{added(t, reg, 2)}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eventsourcing.ErrLeaseLost) {
			t.Fatalf("run ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fenced runner kept running")
	}
	var owner string
	if err := env.Session(t).Query(`SELECT owner FROM fence_checkpoints WHERE name = 'projection/fenced'`).Scan(&owner); err != nil || owner != "successor" {
		t.Fatalf("checkpoint owner %q %v", owner, err)
	}
}

// Events that reach a projection out of version order (writers' clocks disagree) are
// handed over in order: a gap is filled from the stream, and late ones are skipped.
func TestInStreamOrder(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "order", eventsourcing.StoreConfig{})
	ctx := t.Context()
	for i := range 4 {
		if _, err := s.Append(ctx, "o", int64(i), []eventsourcing.EventData{added(t, reg, i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	var recs []eventsourcing.Record
	for r, err := range s.Load(ctx, "o", 1) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	var got []int64
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	proj := p.InStreamOrder(eventsourcing.Projection{Name: "ordered", Handle: func(_ context.Context, e eventsourcing.Envelope) error {
		if e.Event.(Added).N != int(e.Version) {
			return fmt.Errorf("version %d carries %+v", e.Version, e.Event)
		}
		got = append(got, e.Version)
		return nil
	}})
	for _, v := range []int{1, 3, 2, 4, 4, 1} { // as a skewed feed might deliver them
		if err := proj.Handle(ctx, eventsourcing.Envelope{Entry: eventsourcing.Entry{Record: recs[v-1]}, Event: Added{N: v}}); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("handled versions %v, want [1 2 3 4]", got)
	}
}

// Rebuilding a projection in stream order replays every event: positions recorded
// before the rebuild do not count.
func TestRebuildInStreamOrder(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "rebuild", eventsourcing.StoreConfig{FeedLag: fastLag})
	ctx := t.Context()
	for i := range 3 {
		if _, err := s.Append(ctx, "r", int64(i), []eventsourcing.EventData{added(t, reg, i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 1, 3)
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	handled := 0
	proj := p.InStreamOrder(eventsourcing.Projection{Name: "rebuilt",
		Handle: func(context.Context, eventsourcing.Envelope) error { handled++; return nil }})
	if err := p.CatchUp(ctx, proj); err != nil || handled != 3 {
		t.Fatalf("catch-up handled %d: %v", handled, err)
	}
	for round := 1; round <= 2; round++ {
		if err := p.Rebuild(ctx, proj); err != nil {
			t.Fatal(err)
		}
		if handled != 3+3*round {
			t.Fatalf("rebuild %d: %d events handled in all, want %d", round, handled, 3+3*round)
		}
	}
}

// With a sharded feed, a projection reads every shard (one reader and lease each):
// every event is handled, each stream in order, and a rebuild replays them all.
// Two projectors share the shards between them.
func TestShardedFeed(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "shards", eventsourcing.StoreConfig{FeedLag: fastLag, FeedShards: 3})
	ctx := t.Context()
	const streams, each = 12, 5
	for i := range streams * each {
		stream := fmt.Sprint("sh-", i%streams)
		v, _ := s.Version(ctx, stream)
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{added(t, reg, int(v)+1)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 3, streams*each)
	var mu sync.Mutex
	last := map[string]int64{}
	handled := 0
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{Batch: 4})
	proj := p.InStreamOrder(eventsourcing.Projection{Name: "sharded", Handle: func(_ context.Context, e eventsourcing.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		if e.Version != last[e.Stream]+1 {
			return fmt.Errorf("%s: version %d after %d", e.Stream, e.Version, last[e.Stream])
		}
		last[e.Stream] = e.Version
		handled++
		return nil
	}, Reset: func(context.Context) error { clear(last); return nil }})
	if err := p.CatchUp(ctx, proj); err != nil {
		t.Fatal(err)
	}
	if handled != streams*each {
		t.Fatalf("handled %d of %d events", handled, streams*each)
	}
	if err := p.Rebuild(ctx, proj); err != nil {
		t.Fatal(err)
	}
	if handled != 2*streams*each {
		t.Fatalf("after rebuild: handled %d, want %d", handled, 2*streams*each)
	}
	// Two runners at once: the shards' leases spread the work; nothing twice.
	for i := range streams {
		stream := fmt.Sprint("sh-", i)
		if _, err := s.Append(ctx, stream, each, []eventsourcing.EventData{added(t, reg, each+1)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 3, streams*each+streams)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 2)
	for range 2 {
		other := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
		go func() { done <- other.Run(runCtx, proj) }()
	}
	testenv.WaitFor(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if handled != 2*streams*each+streams {
			return fmt.Errorf("runners handled %d of %d new events", handled-2*streams*each, streams)
		}
		return nil
	})
	stop()
	for range 2 {
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("runner ended with %v", err)
		}
	}
}

// A rebuild stopped after the reset leaves every shard to replay from the start.
func TestInterruptedRebuildReplaysEverything(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "rebuildcut", eventsourcing.StoreConfig{FeedLag: fastLag, FeedShards: 3})
	ctx := t.Context()
	for i := range 12 {
		if _, err := s.Append(ctx, fmt.Sprint("rc-", i), 0, []eventsourcing.EventData{added(t, reg, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFeed(t, s, 3, 12)
	var mu sync.Mutex
	model := map[string]bool{}
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	proj := eventsourcing.Projection{Name: "cut",
		Handle: func(_ context.Context, e eventsourcing.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			model[e.Stream] = true
			return nil
		}}
	if err := p.CatchUp(ctx, proj); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	proj.Reset = func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		clear(model)
		cancel() // the process stops right after the reset
		return nil
	}
	if err := p.Rebuild(rctx, proj); err == nil {
		t.Fatal("the interrupted rebuild reported success")
	}
	proj.Reset = nil
	if err := p.CatchUp(ctx, proj); err != nil {
		t.Fatal(err)
	}
	if len(model) != 12 {
		t.Fatalf("after an interrupted rebuild and a catch-up the read model has %d of 12 streams", len(model))
	}
}

// A process opened with another fixed layout is refused before it writes anywhere.
func TestLayoutIsFixed(t *testing.T) {
	newStore(t, "layout", eventsourcing.StoreConfig{FeedShards: 1})
	db, _ := orm.New(env.Session(t), env.Keyspace(), nil)
	other, err := eventsourcing.NewStore(db, eventsourcing.StoreConfig{Prefix: "layout", FeedShards: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Sync(t.Context()); err == nil || !strings.Contains(err.Error(), "FeedShards 1") {
		t.Fatalf("sync with another shard count: %v", err)
	}
	if _, err := other.Append(t.Context(), "x", 0, []eventsourcing.EventData{{Type: "Added", SchemaVersion: 1, Data: []byte(`{}`)}}); err == nil {
		t.Fatal("an append through a store of another layout was accepted")
	}
}

// pausedRenewals is a lease.Config.Renewing hook that holds renewals back once
// paused, as a stopped or cut-off process would not renew, until the lease is
// released.
type pausedRenewals struct {
	paused chan struct{}
	once   sync.Once
}

func (p *pausedRenewals) pause() { p.once.Do(func() { close(p.paused) }) }

func (p *pausedRenewals) hook(ctx context.Context, _ string) {
	select {
	case <-p.paused:
		<-ctx.Done()
	default:
	}
}

// A projector whose lease renewals stop (the process is paused or cut off) stops
// calling its handler at its lease's deadline, with no renewal having failed, and a
// second projector takes over: no event is handled by the first after its deadline
// or after the second has started, and between them they handle every event.
// Handlers get the lease (and its fencing token) in their context.
func TestPausedProjectorStopsAtDeadline(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "paused", eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond})
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	renewals := &pausedRenewals{paused: make(chan struct{})}
	la, err := lease.New(db, lease.Config{Owner: "first", TTL: 2 * time.Second, Poll: 100 * time.Millisecond, Renewing: renewals.hook})
	if err != nil {
		t.Fatal(err)
	}
	lb := leases(t)

	var mu sync.Mutex
	var log []string // "a" or "b", one per handled event, in order
	handled := map[orm.UUID]bool{}
	var violations []string
	count := func(who string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, w := range log {
			if w == who {
				n++
			}
		}
		return n
	}
	proj := func(who string) eventsourcing.Projection {
		return eventsourcing.Projection{Name: "paused", Handle: func(ctx context.Context, e eventsourcing.Envelope) error {
			h, ok := lease.FromContext(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case !ok:
				violations = append(violations, who+": no lease in the handler's context")
			case h.Name() != "projection/paused" || !strings.HasPrefix(h.Token(), map[string]string{"a": "first#", "b": lb.Owner() + "#"}[who]):
				violations = append(violations, fmt.Sprintf("%s: handler holds lease %s token %s", who, h.Name(), h.Token()))
			case !time.Now().Before(h.Deadline()):
				violations = append(violations, fmt.Sprintf("%s: handled %s v%d %v after its lease's deadline", who, e.Stream, e.Version, -time.Until(h.Deadline())))
			}
			if who == "a" && slices.Contains(log, "b") {
				violations = append(violations, fmt.Sprintf("a: handled %s v%d after b had started", e.Stream, e.Version))
			}
			log = append(log, who)
			handled[e.ID] = true
			return nil
		}}
	}

	// Events keep coming while the first projector is paused and after.
	stopAppending := make(chan struct{})
	stopAppendingOnce := sync.OnceFunc(func() { close(stopAppending) })
	appendDone := make(chan struct{})
	var ids []orm.UUID // appended; read after appendDone
	go func() {
		defer close(appendDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for v := int64(0); ; {
			select {
			case <-stopAppending:
				return
			case <-tick.C:
			}
			d := added(t, reg, int(v))
			d.ID = orm.NewUUID()
			if _, err := s.Append(ctx, "pz", v, []eventsourcing.EventData{d}); err != nil {
				// Refused or of unknown outcome (a loaded server): only the events
				// known to be stored must be handled; go on from the stream's version.
				if cur, verr := s.Version(ctx, "pz"); verr == nil {
					v = cur
				}
				continue
			}
			ids = append(ids, d.ID)
			v++
		}
	}()
	defer func() { stopAppendingOnce(); <-appendDone }()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go func() {
		doneA <- projector(t, s, la, reg, eventsourcing.ProjectorConfig{Poll: 20 * time.Millisecond}).Run(runCtx, proj("a"))
	}()
	testenv.WaitUntil(t, 20*time.Second, "the first projector handled nothing", func() bool { return count("a") >= 3 })
	go func() {
		doneB <- projector(t, s, lb, reg, eventsourcing.ProjectorConfig{Poll: 20 * time.Millisecond}).Run(runCtx, proj("b"))
	}()
	renewals.pause()

	var errA error
	select {
	case errA = <-doneA:
	case <-time.After(20 * time.Second):
		t.Fatal("the paused projector kept running")
	}
	if !errors.Is(errA, eventsourcing.ErrLeaseLost) || !errors.Is(errA, lease.ErrExpired) {
		t.Errorf("the paused projector stopped with %v; want ErrLeaseLost for its expired lease", errA)
	}
	testenv.WaitUntil(t, 20*time.Second, "the second projector did not take over", func() bool { return count("b") >= 3 })
	stopAppendingOnce()
	<-appendDone
	testenv.WaitUntil(t, 20*time.Second, "the second projector did not handle every event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if !handled[id] {
				return false
			}
		}
		return true
	})
	stop()
	if err := <-doneB; !errors.Is(err, context.Canceled) {
		t.Fatalf("the second projector stopped with %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d violations, first: %s; last: %s", len(violations), violations[0], violations[len(violations)-1])
	}
	t.Logf("%d events: %d handled by the first projector, %d by the second", len(ids), strings.Count(strings.Join(log, ""), "a"), strings.Count(strings.Join(log, ""), "b"))
}

// A handler blocked in a write when its lease's renewals stop sees its context end
// at the lease's deadline, not before, with ErrLeaseLost as the cause.
func TestHandlerContextEndsAtLeaseDeadline(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "hctx", eventsourcing.StoreConfig{FeedLag: fastLag})
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	renewals := &pausedRenewals{paused: make(chan struct{})}
	lm, err := lease.New(db, lease.Config{TTL: 2 * time.Second, Poll: 100 * time.Millisecond, Renewing: renewals.hook})
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "hc", 0, []eventsourcing.EventData{added(t, reg, 1)}); err != nil {
		t.Fatal(err)
	}
	ended := make(chan string, 1)
	proj := eventsourcing.Projection{Name: "hctx", Handle: func(ctx context.Context, e eventsourcing.Envelope) error {
		h, ok := lease.FromContext(ctx)
		if !ok {
			ended <- "no lease in the handler's context"
			return errors.New("no lease")
		}
		renewals.pause() // the process stops renewing while this write hangs
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Second):
			ended <- "the handler's context outlived its lease"
			return errors.New("hung")
		}
		switch cause := context.Cause(ctx); {
		case time.Now().Before(h.Deadline()):
			ended <- fmt.Sprintf("the context ended %v before the deadline (%v)", time.Until(h.Deadline()), cause)
		case !errors.Is(cause, eventsourcing.ErrLeaseLost):
			ended <- fmt.Sprintf("the context ended with %v", cause)
		default:
			ended <- ""
		}
		return ctx.Err()
	}}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = projector(t, s, lm, reg, eventsourcing.ProjectorConfig{Poll: 20 * time.Millisecond}).Run(rctx, proj)
	select {
	case msg := <-ended:
		if msg != "" {
			t.Fatal(msg)
		}
	default:
		t.Fatalf("the handler was not called: %v", err)
	}
	if !errors.Is(err, eventsourcing.ErrLeaseLost) || !errors.Is(err, lease.ErrExpired) {
		t.Fatalf("CatchUp ended with %v; want ErrLeaseLost for an expired lease", err)
	}
}

// ProjectorConfig.Validate refuses what a Projector cannot work with, naming the
// field, and NewProjector refuses it too.
func TestProjectorConfigValidate(t *testing.T) {
	s := newStore(t, "pcfg", eventsourcing.StoreConfig{})
	lm := leases(t)
	for _, tc := range []struct {
		name string
		cfg  eventsourcing.ProjectorConfig
		want string // "" for valid
	}{
		{"defaults", eventsourcing.ProjectorConfig{}, ""},
		{"set", eventsourcing.ProjectorConfig{Batch: 7, Poll: time.Millisecond}, ""},
		{"negative batch", eventsourcing.ProjectorConfig{Batch: -1}, "ProjectorConfig.Batch"},
		{"negative poll", eventsourcing.ProjectorConfig{Poll: -time.Second}, "ProjectorConfig.Poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, nerr := eventsourcing.NewProjector(s, lm, nil, tc.cfg)
			if tc.want == "" {
				if err != nil || nerr != nil {
					t.Fatalf("Validate: %v; NewProjector: %v", err, nerr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || nerr == nil {
				t.Fatalf("Validate: %v; NewProjector: %v; want errors naming %s", err, nerr, tc.want)
			}
		})
	}
	if _, err := eventsourcing.NewProjector(s, nil, nil, eventsourcing.ProjectorConfig{}); err == nil {
		t.Fatal("NewProjector accepted a nil lease manager")
	}
}
