package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// attempts records the inserts a session sends on the registry's table, grouped by
// their bound values: the attempts of one heartbeat bind the same row, heartbeat
// time included, so each group is one heartbeat.
type attempts struct {
	statements
	byBeat map[string]int
	failed int
}

func (a *attempts) ObserveQuery(ctx context.Context, q gocql.ObservedQuery) {
	a.statements.ObserveQuery(ctx, q)
	if q.Err == nil {
		return
	}
	a.mu.Lock()
	a.byBeat[fmt.Sprint(q.Values)]++
	a.failed++
	a.mu.Unlock()
}

// A process cut off from the cluster (a proxy holding its traffic): each heartbeat
// times out and is retried under Config.Retry, the registration reports its lapse
// once the TTL has passed since its last write, others no longer discover it, and
// once the traffic flows again a heartbeat lists it again and the lapse clears.
func TestCutOffRetriesLapsesAndRecovers(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	// Two proxies: the driver's control connection goes through one that never holds
	// (its contact point), the connection pool, which carries every statement,
	// through the one that holds (the address translator sends it there). A held
	// control connection would reconnect, and closing the session during that
	// reconnect deadlocks in the driver (apache/cassandra-gocql-driver#1687 is that
	// kind of race).
	ctl := newProxy(t, env.Hosts()[0])
	px := newProxy(t, env.Hosts()[0])
	obs := &attempts{statements: statements{seen: map[string][]gocql.Consistency{}}, byBeat: map[string]int{}}
	cfg := env.ClusterConfig(t)
	cfg.Hosts = []string{ctl.ln.Addr().String()}
	cfg.AddressTranslator = px.translator()
	cfg.QueryObserver = obs
	cfg.Timeout = 200 * time.Millisecond // each attempt; the heartbeat interval bounds them all
	s, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := orm.New(s, env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := fast
	c.Retry = retry.Policy{If: retry.On(orm.ErrUncertain, orm.ErrUnavailable, orm.ErrTimeout), MaxAttempts: 3,
		Backoff: retry.Backoff{Initial: 10 * time.Millisecond}}
	cutOff := newRegistry(t, db, c)
	name := service()
	h, err := cutOff.Register(t.Context(), registry.Instance{Name: name, ID: "far", URL: "http://10.6.0.1:80"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got, err := reg.Discover(t.Context(), name); err != nil || len(got) != 1 {
		t.Fatalf("Discover = %v, %v; want the instance", got, err)
	}

	if n := px.accepted(); n == 0 {
		t.Fatal("no connection of the pool goes through the holding proxy")
	}
	px.Hold()
	held := time.Now()
	var lapse *registry.LapseError
	select {
	case lapse = <-h.Lapses():
	case <-time.After(30 * time.Second):
		px.Release()
		t.Fatal("no lapse 30s after the traffic was held")
	}
	t.Logf("lapse reported %v after the traffic was held (TTL %v): %v", time.Since(held).Round(time.Millisecond), c.TTL, lapse)
	if !errors.Is(lapse, orm.ErrUncertain) && !errors.Is(lapse, orm.ErrTimeout) {
		t.Fatalf("lapse %v, want it to wrap the heartbeat's timeout", lapse)
	}
	if !errors.Is(h.Err(), lapse) {
		t.Fatalf("Err() = %v during the lapse", h.Err())
	}
	testenv.WaitFor(t, 30*time.Second, func() error {
		got, err := reg.Discover(t.Context(), name)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return errors.New("the cut-off instance is still discovered")
		}
		return nil
	})
	obs.mu.Lock()
	most, beats := 0, len(obs.byBeat)
	for _, n := range obs.byBeat {
		most = max(most, n)
	}
	failed := obs.failed
	obs.mu.Unlock()
	t.Logf("while held: %d failed inserts over %d heartbeats, at most %d for one", failed, beats, most)
	if most < 2 || most > c.Retry.MaxAttempts {
		t.Fatalf("a heartbeat was attempted at most %d times, want 2 to %d (retried, within Config.Retry)", most, c.Retry.MaxAttempts)
	}

	px.Release()
	testenv.WaitFor(t, 30*time.Second, func() error {
		got, err := reg.Discover(t.Context(), name)
		switch {
		case err != nil:
			return err
		case len(got) != 1:
			return errors.New("not listed again yet")
		case h.Err() != nil:
			return fmt.Errorf("listed, but Err() = %v", h.Err())
		}
		return nil
	})
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("connections: %d through the control proxy, %d through the holding one", ctl.accepted(), px.accepted())
}
