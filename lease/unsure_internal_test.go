package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// refusing is a Placer that serves no tenant.
type refusing struct{}

func (refusing) Keyspace(_ context.Context, id string) (string, error) {
	return "", tenant.ErrSuspended
}

// TestRefusedAcquireRemembersNothing: an acquisition the ORM refuses before sending
// anything (no tenant in the context, or a tenant the Placer does not serve) leaves
// no token of unknown outcome behind, so a job that keeps trying to take the lease
// of a suspended tenant does not pile tokens up.
func TestRefusedAcquireRemembersNothing(t *testing.T) {
	base, err := orm.Detached("leases_build")
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{Placer: refusing{}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(db, Config{TTL: time.Second, Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{t.Context(), tenant.With(t.Context(), "acme")} {
		for range 3 {
			if _, err := m.Acquire(ctx, "job"); err == nil || errors.Is(err, orm.ErrUncertain) {
				t.Fatalf("Acquire: %v, want a refusal", err)
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.unsure) != 0 {
		t.Errorf("refused acquisitions left tokens of unknown outcome: %v", m.unsure)
	}
}
