package lease_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	m, err := lease.New(db, lease.Options{Owner: owner, TTL: ttl, Poll: 100 * time.Millisecond})
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
			time.Sleep(20 * time.Millisecond)
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
	// Renewal keeps it alive well past its TTL.
	time.Sleep(4 * time.Second)
	if _, err := b.TryAcquire(ctx, "renewed"); !errors.Is(err, lease.ErrHeld) || !strings.Contains(err.Error(), "held by a") {
		t.Fatalf("renewed lease was taken: %v", err)
	}
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
	case <-time.After(3 * time.Second):
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
	start := time.Now()
	hc, err := b.Acquire(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("took %v to take over an expired lease", waited)
	}
	_ = hc.Release(ctx)
}
