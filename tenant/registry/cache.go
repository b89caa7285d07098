package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Keyspace implements orm.Placer: it returns the own keyspace of tenant id under
// KeyspaceStrategy, or "" under PartitionStrategy (its rows live in the shared
// tables). It answers for active tenants only: it fails with an error matching
// tenant.ErrSuspended for a suspended one, tenant.ErrUnknown for one that does not
// exist or is still being provisioned or is being deleted, tenant.ErrInvalidID for
// an invalid id, and with any other error when the registry could not be read (that
// is never reported as unknown). The registry's own work on a tenant (Provision,
// Delete, MigrateAll) runs under a context it marks, in which Keyspace places the
// tenant whatever its status.
//
// Answers come from a bounded cache and are at most Config.MaxStaleness old; a
// change made through this Registry is seen at once. Concurrent misses for one id
// share one read. Keyspace is safe for concurrent use.
func (r *Registry) Keyspace(ctx context.Context, id string) (string, error) {
	if err := tenant.Check(id); err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	if ks, ok := r.placed(ctx, id); ok {
		return ks, nil
	}
	e, err := r.lookup(ctx, id)
	if err != nil {
		return "", err
	}
	return e.keyspace, nil
}

// Active implements tenanthttp.Resolver: it returns nil when tenant id is active,
// and otherwise fails as Keyspace does, from the same cache.
func (r *Registry) Active(ctx context.Context, id string) error {
	_, err := r.Keyspace(ctx, id)
	return err
}

// lookup returns the cached entry of an active tenant id, or why it may not be
// served.
func (r *Registry) lookup(ctx context.Context, id string) (entry, error) {
	e, err := r.cache.get(ctx, id)
	if err != nil {
		return entry{}, fmt.Errorf("tenant %s: reading the registry: %w", id, err)
	}
	switch {
	case !e.found:
		return entry{}, fmt.Errorf("tenant %s: %w", id, tenant.ErrUnknown)
	case e.status == StatusActive:
		return e, nil
	case e.status == StatusSuspended:
		return entry{}, fmt.Errorf("tenant %s: %w", id, tenant.ErrSuspended)
	case e.status == StatusProvisioning:
		return entry{}, fmt.Errorf("tenant %s: still being provisioned: %w", id, tenant.ErrUnknown)
	case e.status == StatusDeleting:
		return entry{}, fmt.Errorf("tenant %s: being deleted: %w", id, tenant.ErrUnknown)
	}
	return entry{}, fmt.Errorf("tenant %s: status %q is unknown to this version of the registry", id, e.status)
}

// read reads tenant id's row for the cache, at the DB's consistency.
func (r *Registry) read(ctx context.Context, id string) (entry, error) {
	cur, err := r.rows.Get(ctx, id)
	if errors.Is(err, orm.ErrNotFound) {
		return entry{}, nil
	}
	if err != nil {
		return entry{}, err
	}
	return entry{found: true, status: Status(cur.Status), keyspace: cur.Keyspace}, nil
}

// readTimeout bounds a cache fill, which runs on after the caller that started it
// gives up, so that the callers that joined it still get an answer.
const readTimeout = 10 * time.Second

// entry is what the cache knows of one id.
type entry struct {
	found    bool // false: no such tenant
	status   Status
	keyspace string
	at       time.Time // when the read that made it was sent
}

// flight is a read in progress for one id; the callers that miss meanwhile wait for
// it instead of reading again.
type flight struct {
	done chan struct{}
	e    entry
	err  error
}

// cache holds recent answers of the registry for Keyspace and Active: at most max
// entries of known tenants and maxNeg of unknown ids, none older than ttl. Errors are
// never cached.
type cache struct {
	ttl         time.Duration
	max, maxNeg int
	read        func(context.Context, string) (entry, error)

	mu      sync.Mutex
	known   map[string]entry
	unknown map[string]entry
	flights map[string]*flight
	gen     uint64 // counts invalidations; a read that started before one is not kept
}

func newCache(size int, ttl time.Duration, read func(context.Context, string) (entry, error)) *cache {
	maxNeg := max(1, size/4)
	return &cache{ttl: ttl, max: max(1, size-maxNeg), maxNeg: maxNeg, read: read,
		known: map[string]entry{}, unknown: map[string]entry{}, flights: map[string]*flight{}}
}

// get returns the entry of id, from the cache if it is fresh enough, else from
// c.read, once for all concurrent callers. Each caller waits until its own ctx ends.
func (c *cache) get(ctx context.Context, id string) (entry, error) {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.known[id]; ok && now.Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e, nil
	}
	if e, ok := c.unknown[id]; ok && now.Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e, nil
	}
	f := c.flights[id]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flights[id] = f
		go c.fill(context.WithoutCancel(ctx), id, f, c.gen)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.e, f.err
	case <-ctx.Done():
		return entry{}, ctx.Err()
	}
}

// fill runs flight f's read and keeps its answer, unless the cache was invalidated
// since generation gen (the answer may predate a change made through this Registry).
func (c *cache) fill(ctx context.Context, id string, f *flight, gen uint64) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	sent := time.Now()
	e, err := c.read(ctx, id)
	e.at = sent
	f.e, f.err = e, err
	c.mu.Lock()
	if c.flights[id] == f {
		delete(c.flights, id)
	}
	if err == nil && c.gen == gen {
		if e.found {
			delete(c.unknown, id)
			c.put(c.known, c.max, id, e)
		} else {
			delete(c.known, id)
			c.put(c.unknown, c.maxNeg, id, e)
		}
	}
	c.mu.Unlock()
	close(f.done)
}

// put stores e under id in m, evicting first when m holds limit entries: the
// expired ones among a few visited, else one of them. Go's map iteration starts at a
// random place, so the victim is random. c.mu is held.
func (c *cache) put(m map[string]entry, limit int, id string, e entry) {
	if _, ok := m[id]; !ok && len(m) >= limit {
		now := time.Now()
		victim, evicted, seen := "", false, 0
		for k, old := range m {
			if now.Sub(old.at) >= c.ttl {
				delete(m, k)
				evicted = true
			} else if victim == "" {
				victim = k
			}
			if seen++; seen == 8 {
				break
			}
		}
		if !evicted {
			delete(m, victim)
		}
	}
	m[id] = e
}

// invalidate forgets id, and makes reads in flight not keep their answers, so the
// next call reads afresh.
func (c *cache) invalidate(id string) {
	c.mu.Lock()
	delete(c.known, id)
	delete(c.unknown, id)
	delete(c.flights, id)
	c.gen++
	c.mu.Unlock()
}

// len returns the number of entries, known and unknown.
func (c *cache) len() (known, unknown int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.known), len(c.unknown)
}
