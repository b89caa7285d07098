package platform

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// TenantScan is how often EachTenant matches its workers to the registry's
// active tenants: a tenant provisioned meanwhile gets its worker within it.
const TenantScan = 30 * time.Second

// EachTenant runs work once per active tenant of reg, with the tenant in its
// context, until ctx ends, and returns when every worker has returned. A
// worker that stops with an error (its tenant was suspended, say) is logged
// under name and started again at a later scan if the tenant is active then.
func EachTenant(ctx context.Context, reg *registry.Registry, log *slog.Logger, name string, work func(ctx context.Context) error) {
	s := supervisor{reg: reg, log: log, name: name, work: work, running: map[string]bool{}}
	defer s.wg.Wait()
	tick := time.NewTicker(TenantScan)
	defer tick.Stop()
	for {
		s.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// supervisor is EachTenant's state.
type supervisor struct {
	reg  *registry.Registry
	log  *slog.Logger
	name string
	work func(ctx context.Context) error
	wg   sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool
}

func (s *supervisor) scan(ctx context.Context) {
	tenants, err := s.reg.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list tenants", "err", err)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tenants {
		if t.Status != registry.StatusActive || s.running[t.ID] {
			continue
		}
		s.running[t.ID] = true
		s.wg.Add(1)
		go func(id string) {
			defer s.wg.Done()
			err := s.work(tenant.With(ctx, id))
			if ctx.Err() == nil {
				s.log.Warn(s.name+" stopped", "tenant", id, "err", err)
			}
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
		}(t.ID)
	}
}

// ActiveTenants returns the ids of the store's active tenants, in id order:
// a TenantSource for ormcache.InvalidatorConfig.
func (s *Store) ActiveTenants(ctx context.Context) ([]string, error) {
	all, err := s.Registry.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenants of %s: %w", s.DB.Keyspace(), err)
	}
	var ids []string
	for _, t := range all {
		if t.Status == registry.StatusActive {
			ids = append(ids, t.ID)
		}
	}
	return ids, nil
}
