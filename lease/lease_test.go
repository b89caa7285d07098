package lease_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("lease_test")

func TestMain(m *testing.M) { env.Main(m) }

func manager(t *testing.T, owner string, ttl time.Duration) *lease.Manager {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lease.New(db, lease.Config{Owner: owner, TTL: ttl, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOneHolderAtATime(t *testing.T) {
	ctx := t.Context()
	const n = 20
	var holding, maxHolding, turns atomic.Int32
	var wg sync.WaitGroup
	probe := manager(t, "probe", 3*time.Second)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := manager(t, "owner-"+string(rune('a'+i)), 3*time.Second)
			h, err := m.Acquire(ctx, "job")
			if err != nil {
				t.Error(err)
				return
			}
			now := holding.Add(1)
			for {
				old := maxHolding.Load()
				if now <= old || maxHolding.CompareAndSwap(old, now) {
					break
				}
			}
			// While it is held, nobody else gets it.
			if ph, err := probe.TryAcquire(ctx, "job"); !errors.Is(err, lease.ErrHeld) {
				t.Errorf("held lease: TryAcquire by another owner gave %v, want ErrHeld", err)
				if err == nil {
					_ = ph.Release(ctx)
				}
			}
			holding.Add(-1)
			turns.Add(1)
			if err := h.Release(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if maxHolding.Load() != 1 || turns.Load() != n {
		t.Fatalf("max concurrent holders %d, turns %d", maxHolding.Load(), turns.Load())
	}
}

func TestExpiryAndRenewal(t *testing.T) {
	ctx := t.Context()
	a := manager(t, "a", 2*time.Second)
	b := manager(t, "b", 2*time.Second)
	h, err := a.TryAcquire(ctx, "renewed")
	if err != nil {
		t.Fatal(err)
	}
	// Renewal keeps it alive well past its TTL: two TTLs, during which b tries
	// and fails to take it.
	acquired := time.Now()
	testenv.WaitFor(t, time.Minute, func() error {
		if _, err := b.TryAcquire(ctx, "renewed"); !errors.Is(err, lease.ErrHeld) || !strings.Contains(err.Error(), "held by a") {
			t.Fatalf("renewed lease was taken: %v", err)
		}
		if held := time.Since(acquired); held < 4*time.Second {
			return fmt.Errorf("held for %v of 4s", held)
		}
		return nil
	})
	select {
	case <-h.Lost():
		t.Fatal("renewed lease reported lost")
	default:
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	hb, err := b.TryAcquire(ctx, "renewed")
	if err != nil {
		t.Fatalf("released lease not free: %v", err)
	}

	// A lease taken over behind the holder's back (it expired during a pause, and
	// another process took it) is reported lost at the next renewal.
	err = env.Session(t).Query(`UPDATE leases USING TTL 10 SET owner = 'intruder' WHERE name = 'renewed'`).Exec()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-hb.Lost():
	case <-time.After(30 * time.Second): // a deadline, not a timed assertion
		t.Fatal("lost lease not reported")
	}

	// A holder that died leaves a row that expires with its TTL.
	err = env.Session(t).Query(`INSERT INTO leases (name, owner) VALUES ('crashed', 'dead') USING TTL 2`).Exec()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryAcquire(ctx, "crashed"); !errors.Is(err, lease.ErrHeld) {
		t.Fatalf("a live lease was taken: %v", err)
	}
	takeover, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	hc, err := b.Acquire(takeover, "crashed")
	if err != nil {
		t.Fatalf("expired lease not taken over: %v", err)
	}
	_ = hc.Release(ctx)
}

// TestWaitingAndLoss checks what a process learns about another holder: while
// waiting (Config.Waiting, once per holder; the error when ctx ends), and when its
// own lease is taken (Held.Err).
func TestWaitingAndLoss(t *testing.T) {
	ctx := t.Context()
	a := manager(t, "wa", time.Second) // the shortest TTL allowed
	h, err := a.TryAcquire(ctx, "watched")
	if err != nil {
		t.Fatal(err)
	}
	if h.Err() != nil {
		t.Fatalf("Err of a held lease: %v", h.Err())
	}
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen []*lease.HeldError
	b, err := lease.New(db, lease.Config{Owner: "wb", TTL: time.Second, Poll: 100 * time.Millisecond,
		Waiting: func(he *lease.HeldError) { seen = append(seen, he) }})
	if err != nil {
		t.Fatal(err)
	}

	_, err = b.TryAcquire(ctx, "watched")
	var he *lease.HeldError
	if !errors.As(err, &he) || !errors.Is(err, lease.ErrHeld) || he.Owner != "wa" || time.Since(he.Since) > time.Minute {
		t.Fatalf("TryAcquire of a held lease: %v (%+v)", err, he)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second) // long enough for a busy node to answer
	_, err = b.Acquire(short, "watched")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "held by wa") {
		t.Fatalf("Acquire that timed out: %v", err)
	}
	if len(seen) != 1 || seen[0].Owner != "wa" || seen[0].Name != "watched" {
		t.Fatalf("Waiting heard %v, want wa once", seen)
	}

	err = env.Session(t).Query(`UPDATE leases USING TTL 10 SET owner = 'thief' WHERE name = 'watched'`).Exec()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Lost():
	case <-time.After(30 * time.Second): // a deadline, not a timed assertion
		t.Fatal("lost lease not reported")
	}
	if err := h.Err(); !errors.As(err, &he) || he.Owner != "thief" {
		t.Fatalf("Err of a taken lease: %v", err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConfigValidate: Validate refuses what a Manager cannot work with, naming the
// field, and New refuses it too.
func TestConfigValidate(t *testing.T) {
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  lease.Config
		want string // "" for valid
	}{
		{"defaults", lease.Config{}, ""},
		{"one second", lease.Config{TTL: time.Second}, ""},
		{"ttl under a second", lease.Config{TTL: 900 * time.Millisecond}, "Config.TTL"},
		{"negative ttl", lease.Config{TTL: -time.Second}, "Config.TTL"},
		{"bad table", lease.Config{Table: "my-leases"}, "Config.Table"},
		{"negative poll", lease.Config{Poll: -time.Second}, "Config.Poll"},
		{"owner with #", lease.Config{Owner: "a#b"}, "Config.Owner"},
		{"owner with space", lease.Config{Owner: "a b"}, "Config.Owner"},
		{"owner too long", lease.Config{Owner: strings.Repeat("x", 201)}, "Config.Owner"},
		{"migrate's owners", lease.Config{Owner: "host:12:a1b2c3"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := lease.New(db, tc.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error naming %s", err, tc.want)
			}
			if _, err := lease.New(db, tc.cfg); err == nil {
				t.Fatal("New accepted what Validate refused")
			}
		})
	}
}

// Two acquisitions through one Manager exclude each other like two processes.
func TestNotReentrant(t *testing.T) {
	ctx := t.Context()
	m := manager(t, "same", 3*time.Second)
	h, err := m.TryAcquire(ctx, "once")
	if err != nil {
		t.Fatal(err)
	}
	var he *lease.HeldError
	if _, err := m.TryAcquire(ctx, "once"); !errors.As(err, &he) || he.Owner != "same" {
		t.Fatalf("second acquisition through one manager: %v", err)
	}
	if !strings.HasPrefix(h.Token(), "same#") {
		t.Fatalf("token %q", h.Token())
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	h2, err := m.TryAcquire(ctx, "once")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if h2.Token() == h.Token() {
		t.Fatal("two acquisitions share a token")
	}
	_ = h2.Release(ctx)
}

// An acquisition that timed out may still have taken the lease: the next attempt
// through the same Manager adopts it instead of waiting for it to expire.
func TestUncertainAcquireIsAdopted(t *testing.T) {
	m := manager(t, "unsure", 3*time.Second)
	uncertain := 0
	for i := range 40 {
		name := fmt.Sprint("unsure-", i)
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(200+i*50)*time.Microsecond)
		h, err := m.TryAcquire(ctx, name)
		cancel()
		if err == nil {
			_ = h.Release(t.Context())
			continue
		}
		if errors.Is(err, lease.ErrHeld) {
			t.Fatalf("%s: held by someone else: %v", name, err)
		}
		uncertain++
		h, err = m.TryAcquire(t.Context(), name)
		if err != nil {
			t.Fatalf("%s: after an uncertain attempt: %v", name, err)
		}
		if err := h.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d of 40 acquisitions timed out and were retried", uncertain)
}

// pauser is a Config.Renewing hook that lets renewals through until pause, then
// holds them (as a paused or cut-off process would) until the lease is released.
type pauser struct {
	paused  chan struct{}
	blocked atomic.Int32 // renewals held back
	passed  atomic.Int32 // renewals let through
}

func newPauser() *pauser { return &pauser{paused: make(chan struct{})} }

func (p *pauser) pause() { close(p.paused) }

func (p *pauser) hook(ctx context.Context, _ string) {
	select {
	case <-p.paused:
	default:
		p.passed.Add(1)
		return
	}
	p.blocked.Add(1)
	<-ctx.Done()
}

// A holder whose renewals stop (the process is paused, or cut off) without any
// renewal failing loses its lease at its deadline: Lost closes, Valid turns false,
// Err wraps ErrExpired and nothing else. Another process then takes the lease.
func TestPausedHolderLosesAtDeadline(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newPauser()
	a, err := lease.New(db, lease.Config{Owner: "paused", TTL: 2 * time.Second, Poll: 100 * time.Millisecond, Renewing: p.hook})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := a.TryAcquire(ctx, "paused")
	if err != nil {
		t.Fatal(err)
	}
	first := h.Deadline()
	if !h.Valid() || time.Until(first) <= 0 || time.Until(first) > 2*time.Second {
		t.Fatalf("fresh lease: valid %v, deadline in %v", h.Valid(), time.Until(first))
	}
	// Renewals move the deadline on.
	testenv.WaitUntil(t, 10*time.Second, "no renewal moved the deadline", func() bool { return h.Deadline().After(first) })
	if !h.Valid() {
		t.Fatalf("renewed lease not valid: %v", h.Err())
	}

	p.pause()
	select {
	case <-h.Lost():
	case <-time.After(10 * time.Second):
		t.Fatalf("Lost not closed with renewals held back; deadline was %v ago", -time.Until(h.Deadline()))
	}
	if now := time.Now(); now.Before(h.Deadline()) {
		t.Fatalf("Lost closed %v before the deadline", h.Deadline().Sub(now))
	}
	if h.Valid() {
		t.Fatal("Valid after the deadline")
	}
	if err := h.Err(); !errors.Is(err, lease.ErrExpired) || errors.Unwrap(err) != lease.ErrExpired || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("Err after the deadline: %v; want ErrExpired alone, naming the lease", err)
	}
	if p.blocked.Load() == 0 {
		t.Fatal("no renewal was held back: the test did not pause the holder")
	}

	b := manager(t, "successor", 2*time.Second)
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hb, err := b.Acquire(actx, "paused")
	if err != nil {
		t.Fatalf("successor: %v", err)
	}
	if err := hb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// Release ends a lease's validity at once, without closing Lost.
func TestReleasedIsNotValid(t *testing.T) {
	ctx := t.Context()
	m := manager(t, "rel", 2*time.Second)
	h, err := m.TryAcquire(ctx, "released")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Valid() {
		t.Fatalf("fresh lease not valid: %v", h.Err())
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h.Valid() {
		t.Fatal("released lease still valid")
	}
	select {
	case <-h.Lost():
		t.Fatalf("Release closed Lost: %v", h.Err())
	default:
	}
}

// Holding a lease through the context: FromContext gives back what NewContext put.
func TestContext(t *testing.T) {
	m := manager(t, "ctx", 2*time.Second)
	h, err := m.TryAcquire(t.Context(), "in-context")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(t.Context())
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want *lease.Held
	}{
		{"none", t.Context(), nil},
		{"held", lease.NewContext(t.Context(), h), h},
		{"nil", lease.NewContext(t.Context(), nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lease.FromContext(tc.ctx)
			if got != tc.want || ok != (tc.want != nil) {
				t.Fatalf("FromContext: %v %v, want %v", got, ok, tc.want)
			}
		})
	}
}

// Two acquisitions in a row whose outcome is unknown, the first of which applied:
// the Manager still knows the row for its own and adopts it, instead of waiting
// for it to expire as if someone else held it.
func TestTwoUncertainAcquisitionsAreAdopted(t *testing.T) {
	m := manager(t, "twice", 3*time.Second)
	cases := 0
	for i := range 80 {
		name := fmt.Sprint("twice-", i)
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(200+i*60)*time.Microsecond)
		h, err := m.TryAcquire(ctx, name)
		cancel()
		if err == nil {
			_ = h.Release(t.Context())
			continue
		}
		if errors.Is(err, lease.ErrHeld) {
			t.Fatalf("%s: held by someone else: %v", name, err)
		}
		var owner string
		err = env.Session(t).Query(`SELECT owner FROM leases WHERE name = ?`, name).Consistency(gocql.Serial).Scan(&owner)
		if err != nil || !strings.HasPrefix(owner, "twice#") {
			continue // the first attempt did not apply: nothing to adopt
		}
		cases++
		// The second (and third) attempt cannot tell either what became of its insert.
		done, cancel := context.WithCancel(t.Context())
		cancel()
		for range 2 {
			if _, err := m.TryAcquire(done, name); err == nil || errors.Is(err, lease.ErrHeld) {
				t.Fatalf("%s: an attempt on a cancelled context: %v", name, err)
			}
		}
		h, err = m.TryAcquire(t.Context(), name)
		if err != nil {
			t.Fatalf("%s: after two uncertain attempts, the first applied (%s): %v", name, owner, err)
		}
		if h.Token() != owner {
			t.Fatalf("%s: adopted %s, the row is %s's", name, h.Token(), owner)
		}
		if err := h.Release(t.Context()); err != nil {
			t.Fatal(err)
		}
		if cases == 3 {
			break
		}
	}
	if cases == 0 {
		t.Fatal("no acquisition timed out after it applied: nothing was tested")
	}
	t.Logf("%d acquisitions timed out after they applied", cases)
}

// An Acquire that gives up (its ctx ended) after attempts whose outcome is unknown
// deletes what they wrote, rather than leave it to hold the lease for nobody until it
// expires. TryAcquire, which leaves adoption to the next attempt, shows how many such
// rows the same timeouts leave. An insert can still apply after the delete (the
// server retries a contended Paxos round after the client gave up), so a few rows
// may be left even so; the next attempt adopts those.
func TestAcquireGivesBackUncertainRows(t *testing.T) {
	m := manager(t, "giveup", 3*time.Second)
	left := func(name string) bool {
		var owner string
		err := env.Session(t).Query(`SELECT owner FROM leases WHERE name = ?`, name).Consistency(gocql.Serial).Scan(&owner)
		return err == nil && strings.HasPrefix(owner, "giveup#")
	}
	timeout := func(i int) time.Duration { return time.Duration(200+i*60) * time.Microsecond }
	tried := 0 // rows TryAcquire left
	for _, acquire := range []bool{false, true} {
		rows := 0
		for i := range 60 {
			name := fmt.Sprint("giveup-", acquire, "-", i)
			ctx, cancel := context.WithTimeout(t.Context(), timeout(i))
			var h *lease.Held
			var err error
			if acquire {
				h, err = m.Acquire(ctx, name)
			} else {
				h, err = m.TryAcquire(ctx, name)
			}
			cancel()
			if err == nil {
				_ = h.Release(t.Context())
				continue
			}
			if left(name) {
				rows++
			}
		}
		t.Logf("acquire %v: %d rows left behind by attempts that timed out", acquire, rows)
		if !acquire {
			if rows < 4 {
				t.Fatalf("only %d TryAcquires timed out after they applied: too few to compare", rows)
			}
			tried = rows
		} else if rows*4 > tried {
			t.Fatalf("%d Acquires that gave up left their row behind (TryAcquire: %d)", rows, tried)
		}
	}
}
