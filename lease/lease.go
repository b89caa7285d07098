package lease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// row is a held lease.
type row struct {
	Name       string    `cql:"name" orm:"pk"`
	Owner      string    `cql:"owner"`
	AcquiredAt time.Time `cql:"acquired_at"`
}

// Options configure a Manager.
type Options struct {
	// Table is the lease table's name (default "leases").
	Table string
	// TTL is how long a lease lives without renewal (default 15s, at least 2s).
	// Cassandra counts TTLs in whole seconds from the current second, so a lease can
	// expire up to a second early; the holder renews it every TTL/4.
	TTL time.Duration
	// Owner identifies this process (default host name, pid and a random suffix).
	Owner string
	// Poll is how often Acquire retries while another process holds the lease
	// (default TTL/5).
	Poll time.Duration
}

// Manager acquires and renews leases. It is safe for concurrent use.
type Manager struct {
	rows *orm.Model[row]
	opts Options
}

// New returns a Manager on db's keyspace.
func New(db *orm.DB, opts Options) (*Manager, error) {
	if opts.Table == "" {
		opts.Table = "leases"
	}
	if opts.TTL <= 0 {
		opts.TTL = 15 * time.Second
	}
	if opts.TTL < 2*time.Second {
		return nil, fmt.Errorf("lease: TTL %v: want at least 2s (Cassandra TTLs are whole seconds)", opts.TTL)
	}
	if opts.Owner == "" {
		host, _ := os.Hostname()
		opts.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), orm.NewUUID().String()[:8])
	}
	if opts.Poll <= 0 {
		opts.Poll = opts.TTL / 5
	}
	rows, err := orm.NewModel[row](db, orm.TableName(opts.Table))
	if err != nil {
		return nil, err
	}
	return &Manager{rows: rows, opts: opts}, nil
}

// Sync creates the lease table.
func (m *Manager) Sync(ctx context.Context) error { return m.rows.DB().Sync(ctx, m.rows) }

// Owner returns this manager's owner id.
func (m *Manager) Owner() string { return m.opts.Owner }

// ErrHeld is returned by TryAcquire when another owner holds the lease.
var ErrHeld = errors.New("lease: held by another owner")

// TryAcquire takes lease name if nobody holds it, or returns an error wrapping ErrHeld
// that names the holder.
func (m *Manager) TryAcquire(ctx context.Context, name string) (*Held, error) {
	r := row{Name: name, Owner: m.opts.Owner, AcquiredAt: time.Now().UTC()}
	err := m.rows.InsertIfNotExists(ctx, &r, orm.WithTTL(m.cellTTL()))
	var ce *orm.ConflictError
	if errors.As(err, &ce) {
		if cur, ok := ce.Current.(*row); ok && cur.Owner == m.opts.Owner {
			// We hold it already (a retry after a timeout that did apply).
			return m.hold(name), nil
		}
		holder := "?"
		if cur, ok := ce.Current.(*row); ok {
			holder = cur.Owner
		}
		return nil, fmt.Errorf("%w: %s is held by %s", ErrHeld, name, holder)
	}
	if err != nil {
		return nil, fmt.Errorf("lease: acquiring %s: %w", name, err)
	}
	return m.hold(name), nil
}

// cellTTL is the TTL written: a second more than the lease's, because Cassandra
// counts TTLs from the start of the current second.
func (m *Manager) cellTTL() time.Duration { return m.opts.TTL + time.Second }

// Acquire takes lease name, waiting while another owner holds it, until ctx ends. A
// failed attempt (a timeout, say) is retried; three failures in a row end the wait.
func (m *Manager) Acquire(ctx context.Context, name string) (*Held, error) {
	failures := 0
	for {
		h, err := m.TryAcquire(ctx, name)
		switch {
		case err == nil:
			return h, nil
		case errors.Is(err, ErrHeld):
			failures = 0
		case ctx.Err() != nil:
			return nil, err
		default:
			if failures++; failures >= 3 {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lease: waiting for %s: %w", name, ctx.Err())
		case <-time.After(m.opts.Poll):
		}
	}
}

func (m *Manager) hold(name string) *Held {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Held{m: m, name: name, lost: make(chan struct{}), stop: cancel, done: make(chan struct{})}
	go h.renew(ctx)
	return h
}

// Held is a lease this process holds. It renews itself until Release. Lost is closed
// when a renewal finds the lease taken (it expired, say after a long pause), or when
// renewals have failed for so long that the lease may expire before the next one:
// the holder then stops before another process can start.
type Held struct {
	m        *Manager
	name     string
	lost     chan struct{}
	lostOnce sync.Once
	stop     context.CancelFunc
	done     chan struct{}
}

// Name returns the lease's name.
func (h *Held) Name() string { return h.name }

// Lost is closed when the lease is lost: stop the work it guards.
func (h *Held) Lost() <-chan struct{} { return h.lost }

func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	every := h.m.opts.TTL / 4
	t := time.NewTicker(every)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := h.m.rows.PatchIf(ctx, []any{h.name}, []orm.Predicate{orm.Eq("owner", h.m.opts.Owner)},
			[]orm.Change{orm.Set("owner", h.m.opts.Owner)}, orm.WithTTL(h.m.cellTTL()))
		switch {
		case err == nil:
			renewed = time.Now()
		case errors.Is(err, orm.ErrConflict):
			h.lostOnce.Do(func() { close(h.lost) })
			return
		case ctx.Err() != nil:
			return
		case time.Since(renewed)+every >= h.m.opts.TTL:
			// Renewals keep failing and the next tick may come after expiry: give
			// the lease up rather than risk two holders.
			h.lostOnce.Do(func() { close(h.lost) })
			return
		}
	}
}

// Release stops renewal and deletes the lease if this owner still holds it.
func (h *Held) Release(ctx context.Context) error {
	h.stop()
	<-h.done
	err := h.m.rows.DeleteIf(ctx, []any{h.name}, orm.Eq("owner", h.m.opts.Owner))
	if err != nil && !errors.Is(err, orm.ErrConflict) {
		return fmt.Errorf("lease: releasing %s: %w", h.name, err)
	}
	return nil
}
