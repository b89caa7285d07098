package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// refusal returns the errors of Active and Keyspace for id.
func refusal(ctx context.Context, r *registry.Registry, id string) (active, keyspace error) {
	_, keyspace = r.Keyspace(ctx, id)
	return r.Active(ctx, id), keyspace
}

// TestSuspendResume: Suspend is seen at once by the registry that made it and
// within MaxStaleness by another one (another process, on its own session); Resume
// likewise. Both are idempotent.
func TestSuspendResume(t *testing.T) {
	ctx := t.Context()
	const staleness = time.Second
	r := newRegistry(t, openDB(t, nil), "suspend", registry.Config{})
	other := newRegistry(t, otherDB(t, nil), "suspend", registry.Config{MaxStaleness: staleness})
	const id = "sleepy"
	if _, err := r.Provision(ctx, registry.Spec{ID: id}, registry.Schema{}); err != nil {
		t.Fatal(err)
	}
	for _, reg := range []*registry.Registry{r, other} {
		if a, k := refusal(ctx, reg, id); a != nil || k != nil {
			t.Fatalf("before Suspend: %v, %v", a, k)
		}
	}

	if err := r.Suspend(ctx, id); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	if a, k := refusal(ctx, r, id); !errors.Is(a, tenant.ErrSuspended) || !errors.Is(k, tenant.ErrSuspended) {
		t.Errorf("on the registry that suspended: %v, %v; want tenant.ErrSuspended at once", a, k)
	}
	waitSeen(t, other, id, changed, staleness, func(a, k error) bool {
		return errors.Is(a, tenant.ErrSuspended) && errors.Is(k, tenant.ErrSuspended)
	})
	if err := r.Suspend(ctx, id); err != nil {
		t.Errorf("Suspend again: %v", err)
	}
	if got, err := other.Get(ctx, id); err != nil || got.Status != registry.StatusSuspended {
		t.Errorf("Get: %+v, %v", got, err)
	}

	if err := other.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	changed = time.Now()
	if a, k := refusal(ctx, other, id); a != nil || k != nil {
		t.Errorf("on the registry that resumed: %v, %v; want nil at once", a, k)
	}
	waitSeen(t, r, id, changed, r.Config().MaxStaleness, func(a, k error) bool { return a == nil && k == nil })
	if err := r.Resume(ctx, id); err != nil {
		t.Errorf("Resume again: %v", err)
	}

	if err := r.Suspend(ctx, "nobody"); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Suspend of an unknown tenant: %v", err)
	}
	if err := r.Resume(ctx, "nobody"); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Resume of an unknown tenant: %v", err)
	}
}

// waitSeen waits until seen holds for the answers of reg about id, and fails t if
// that took longer than the staleness bound after the change (plus a second for
// the read itself on a busy machine).
func waitSeen(t *testing.T, reg *registry.Registry, id string, changed time.Time, staleness time.Duration, seen func(active, keyspace error) bool) {
	t.Helper()
	testenv.WaitFor(t, staleness+10*time.Second, func() error {
		if a, k := refusal(t.Context(), reg, id); !seen(a, k) {
			return fmt.Errorf("not seen yet: %v, %v", a, k)
		}
		return nil
	})
	took := time.Since(changed)
	t.Logf("seen by the other registry %v after the change (bound %v)", took, staleness)
	if took > staleness+time.Second {
		t.Errorf("the other registry saw the change %v after it, past MaxStaleness %v", took, staleness)
	}
}

// TestLookupReads: Keyspace and Active read the registry once per id per staleness
// period, concurrent misses included, and an unknown id is cached too.
func TestLookupReads(t *testing.T) {
	ctx := t.Context()
	var reads atomic.Int32
	obs := orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
		if e.Table == "lookups" && e.Op == "get" {
			reads.Add(1)
		}
	})
	r := newRegistry(t, openDB(t, obs), "lookups", registry.Config{MaxStaleness: time.Minute})
	if _, err := r.Provision(ctx, registry.Spec{ID: "looked-up"}, registry.Schema{}); err != nil {
		t.Fatal(err)
	}
	reads.Store(0)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := r.Active(ctx, "looked-up"); err != nil {
				t.Error(err)
			}
			if _, err := r.Keyspace(ctx, "no-such"); !errors.Is(err, tenant.ErrUnknown) {
				t.Errorf("unknown id: %v", err)
			}
		})
	}
	wg.Wait()
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for 40 lookups of 2 ids, want 2", n)
	}
}

// TestReadFailureIsNotUnknown: when the registry cannot be read (its session is
// closed), Keyspace and Active fail with an error that is neither ErrUnknown nor
// ErrSuspended, for an id never seen and for one whose cached answer has expired.
func TestReadFailureIsNotUnknown(t *testing.T) {
	ctx := t.Context()
	s, err := env.ClusterConfig(t).CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := orm.New(s, env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, db, "readfail", registry.Config{MaxStaleness: 100 * time.Millisecond})
	if _, err := r.Provision(ctx, registry.Spec{ID: "cached"}, registry.Schema{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Active(ctx, "cached"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	check := func(id string, err error) error {
		switch {
		case err == nil:
			return errors.New("no error")
		case errors.Is(err, tenant.ErrUnknown), errors.Is(err, tenant.ErrSuspended):
			t.Fatalf("%s: a read failure reported as %v", id, err)
		case !errors.Is(err, orm.ErrClosed) || !strings.Contains(err.Error(), "tenant "+id+": reading the registry"):
			t.Fatalf("%s: %v, want orm.ErrClosed, naming the tenant", id, err)
		}
		return nil
	}
	for _, id := range []string{"never-seen", "cached"} {
		// The cached answer expires after MaxStaleness; then the read fails.
		testenv.WaitFor(t, 10*time.Second, func() error {
			_, kerr := r.Keyspace(ctx, id)
			if err := check(id, r.Active(ctx, id)); err != nil {
				return err
			}
			return check(id, kerr)
		})
	}
}

// TestList: every tenant, in id order, with its status.
func TestList(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "listing", registry.Config{})
	for _, id := range []string{"list-c", "list-a", "list-b"} {
		if _, err := r.Provision(ctx, registry.Spec{ID: id, Name: strings.ToUpper(id)}, registry.Schema{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Suspend(ctx, "list-b"); err != nil {
		t.Fatal(err)
	}
	ts, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tn := range ts {
		got = append(got, tn.ID+":"+string(tn.Status)+":"+tn.Name)
	}
	if want := "list-a:active:LIST-A list-b:suspended:LIST-B list-c:active:LIST-C"; strings.Join(got, " ") != want {
		t.Errorf("List: %v, want %s", got, want)
	}
}
