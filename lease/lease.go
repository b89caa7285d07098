package lease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// row is a held lease.
type row struct {
	Name       string    `cql:"name" orm:"pk"`
	Owner      string    `cql:"owner"`
	AcquiredAt time.Time `cql:"acquired_at"`
}

// Config configures a Manager. A zero field takes its default; Validate says which
// values are refused.
type Config struct {
	// Table is the lease table's name (default "leases"), a Cassandra identifier.
	Table string
	// TTL is how long a lease lives without renewal (default 15s, at least 1s). The
	// row is written with a TTL one second longer, since Cassandra counts TTLs in
	// whole seconds from the start of the current one, so it lives at least TTL. The
	// holder renews it every TTL/4 and gives it up when it could not for 3/4 of TTL.
	TTL time.Duration
	// Owner identifies this process (default host name, pid and a random suffix):
	// at most 200 printable characters, without spaces or "#". A lease row names the
	// owner followed by "#" and a token of the acquisition.
	Owner string
	// Poll is how often Acquire retries while another process holds the lease
	// (default TTL/5).
	Poll time.Duration
	// Waiting, when set, is called by Acquire on its goroutine when it finds the lease
	// held by another owner: once per holder, not at every poll.
	Waiting func(*HeldError)
}

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Table == "" {
		c.Table = "leases"
	}
	if c.TTL == 0 {
		c.TTL = 15 * time.Second
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), orm.NewUUID().String()[:8])
	}
	if c.Poll == 0 {
		c.Poll = c.TTL / 5
	}
}

// Validate reports the first field whose value a Manager cannot work with. Zero
// fields count as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	if err := orm.CheckIdent("table", c.Table); err != nil {
		return fmt.Errorf("lease: Config.Table: %w", err)
	}
	if c.TTL < time.Second {
		return fmt.Errorf("lease: Config.TTL %v: want at least 1s (Cassandra TTLs are whole seconds)", c.TTL)
	}
	if err := checkOwner(c.Owner); err != nil {
		return err
	}
	if c.Poll < 0 {
		return fmt.Errorf("lease: Config.Poll %v: want a positive interval", c.Poll)
	}
	return nil
}

// checkOwner refuses owner ids that would be misread in a lease row: "#" starts the
// acquisition's token.
func checkOwner(owner string) error {
	if len(owner) > 200 {
		return fmt.Errorf("lease: Config.Owner %.20q...: longer than 200 bytes", owner)
	}
	for _, r := range owner {
		if r == '#' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("lease: Config.Owner %q: %q not allowed (want printable characters, no spaces or \"#\")", owner, r)
		}
	}
	return nil
}

// Manager acquires and renews leases. It is safe for concurrent use.
type Manager struct {
	rows *orm.Model[row]
	cfg  Config

	mu sync.Mutex
	// unsure maps a lease name to the token of an acquisition whose outcome was
	// unknown (it timed out): if that insert did apply, the next attempt adopts it
	// instead of waiting for its own row to expire.
	unsure map[string]string
}

// New returns a Manager on db's keyspace, or the error of cfg.Validate.
func New(db *orm.DB, cfg Config) (*Manager, error) {
	if db == nil {
		return nil, errors.New("lease: New: nil DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	rows, err := orm.NewModel[row](db, orm.TableName(cfg.Table))
	if err != nil {
		return nil, fmt.Errorf("lease: table %s: %w", cfg.Table, err)
	}
	return &Manager{rows: rows, cfg: cfg, unsure: map[string]string{}}, nil
}

// Sync creates the lease table.
func (m *Manager) Sync(ctx context.Context) error { return m.rows.DB().Sync(ctx, m.rows) }

// Owner returns this manager's owner id.
func (m *Manager) Owner() string { return m.cfg.Owner }

// ErrHeld is returned by TryAcquire when another owner holds the lease.
var ErrHeld = errors.New("lease: held by another owner")

// HeldError says who holds a lease. It wraps ErrHeld.
type HeldError struct {
	// Name is the lease's name.
	Name string
	// Owner is the holder's owner id, as its Config.Owner ("?" if the row vanished
	// meanwhile).
	Owner string
	// Since is when the holder acquired the lease (zero if unknown).
	Since time.Time
}

// Error implements error.
func (e *HeldError) Error() string {
	return fmt.Sprintf("%v: %s is held by %s", ErrHeld, e.Name, e.Owner)
}

// Unwrap returns ErrHeld.
func (e *HeldError) Unwrap() error { return ErrHeld }

// heldError describes the holder of lease name from a conflict's current row.
func heldError(name string, current any) *HeldError {
	if cur, ok := current.(*row); ok && cur != nil {
		owner := cur.Owner
		if i := strings.LastIndexByte(owner, '#'); i >= 0 {
			owner = owner[:i] // the acquisition's token is not for people
		}
		return &HeldError{Name: name, Owner: owner, Since: cur.AcquiredAt}
	}
	return &HeldError{Name: name, Owner: "?"}
}

// TryAcquire takes lease name if nobody holds it, or returns a *HeldError (wrapping
// ErrHeld) that names the holder.
func (m *Manager) TryAcquire(ctx context.Context, name string) (*Held, error) {
	// Each acquisition has its own token, so two acquisitions through one Manager
	// (two goroutines running the same job) exclude each other like two processes.
	token := m.cfg.Owner + "#" + orm.NewUUID().String()[:8]
	r := row{Name: name, Owner: token, AcquiredAt: time.Now().UTC().Truncate(time.Millisecond)}
	err := m.rows.InsertIfNotExists(ctx, &r, orm.WithTTL(m.cellTTL()))
	var ce *orm.ConflictError
	if errors.As(err, &ce) {
		cur, _ := ce.Current.(*row)
		m.mu.Lock()
		mine := cur != nil && m.unsure[name] == cur.Owner
		if mine {
			delete(m.unsure, name)
		}
		m.mu.Unlock()
		if mine {
			// The row may be close to expiry: renew it now, before handing it over.
			err := m.rows.PatchIf(ctx, []any{name}, []orm.Predicate{orm.Eq("owner", cur.Owner)},
				[]orm.Change{orm.Set("owner", cur.Owner), orm.Set("acquired_at", cur.AcquiredAt)}, orm.WithTTL(m.cellTTL()))
			if err != nil {
				return nil, fmt.Errorf("lease: taking over %s after an uncertain acquisition: %w", name, err)
			}
			return m.hold(name, cur.Owner, cur.AcquiredAt), nil
		}
		return nil, heldError(name, ce.Current)
	}
	if err != nil {
		// The insert may have applied: remember its token for the next attempt.
		m.mu.Lock()
		m.unsure[name] = token
		m.mu.Unlock()
		return nil, fmt.Errorf("lease: acquiring %s: %w", name, err)
	}
	return m.hold(name, token, r.AcquiredAt), nil
}

// cellTTL is the TTL written: a second more than the lease's, because Cassandra
// counts TTLs from the start of the current second.
func (m *Manager) cellTTL() time.Duration { return m.cfg.TTL + time.Second }

// Acquire takes lease name, waiting while another owner holds it, until ctx ends. A
// failed attempt (a timeout, say) is retried; three failures in a row end the wait.
// Config.Waiting hears of each holder met; an error because ctx ended names the last.
func (m *Manager) Acquire(ctx context.Context, name string) (*Held, error) {
	failures := 0
	var holder *HeldError
	for {
		h, err := m.TryAcquire(ctx, name)
		var he *HeldError
		switch {
		case err == nil:
			return h, nil
		case errors.As(err, &he):
			failures = 0
			if m.cfg.Waiting != nil && (holder == nil || holder.Owner != he.Owner) {
				m.cfg.Waiting(he)
			}
			holder = he
		case ctx.Err() != nil:
			return nil, err
		default:
			if failures++; failures >= 3 {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			if holder != nil {
				return nil, fmt.Errorf("lease: waiting for %s held by %s: %w", name, holder.Owner, ctx.Err())
			}
			return nil, fmt.Errorf("lease: waiting for %s: %w", name, ctx.Err())
		case <-time.After(m.cfg.Poll):
		}
	}
}

func (m *Manager) hold(name, token string, since time.Time) *Held {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Held{m: m, name: name, token: token, since: since, lost: make(chan struct{}), stop: cancel, done: make(chan struct{})}
	go h.renew(ctx)
	return h
}

// Held is a lease this process holds. It renews itself until Release. Lost is closed
// when a renewal finds the lease taken (it expired, say after a long pause), or when
// renewals have failed for so long that the lease may expire before the next one:
// the holder then stops before another process can start.
type Held struct {
	m     *Manager
	name  string
	token string
	since time.Time
	lost  chan struct{}
	err   error // why the lease was lost; written before lost is closed
	stop  context.CancelFunc
	done  chan struct{}
}

// Name returns the lease's name.
func (h *Held) Name() string { return h.name }

// Token identifies this acquisition: the Manager's owner id and a suffix of its own.
// Work guarded by the lease can be fenced with it, by writing it beside the work's
// state and conditioning later writes on it, so a holder that lost the lease while
// paused cannot overwrite a successor's state.
func (h *Held) Token() string { return h.token }

// Lost is closed when the lease is lost: stop the work it guards.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err returns nil until Lost is closed, then why the lease was lost: a *HeldError
// naming the new holder when another owner took it, or else an error saying that
// the lease expired, or how long renewals failed (wrapping the last failure).
func (h *Held) Err() error {
	select {
	case <-h.lost:
		return h.err
	default:
		return nil
	}
}

func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	every := h.m.cfg.TTL / 4
	t := time.NewTicker(every)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// The lease lasts TTL from the write, which comes after start: counting from
		// start errs on the safe side. An attempt may not outlast a tick, so a hung
		// one cannot keep the holder working past expiry.
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, every)
		// Setting every column renews every cell's TTL, so the whole row lives on.
		err := h.m.rows.PatchIf(actx, []any{h.name}, []orm.Predicate{orm.Eq("owner", h.token)},
			[]orm.Change{orm.Set("owner", h.token), orm.Set("acquired_at", h.since)}, orm.WithTTL(h.m.cellTTL()))
		cancel()
		var ce *orm.ConflictError
		switch {
		case err == nil:
			renewed = start
		case errors.As(err, &ce):
			h.err = fmt.Errorf("lease: %s expired before it was renewed", h.name)
			if cur, ok := ce.Current.(*row); ok && cur != nil {
				h.err = heldError(h.name, cur)
			}
			close(h.lost)
			return
		case ctx.Err() != nil:
			return
		case time.Since(renewed)+every >= h.m.cfg.TTL:
			// Renewals keep failing and the next tick may come after expiry: give
			// the lease up rather than risk two holders.
			h.err = fmt.Errorf("lease: %s not renewed for %s: %w", h.name, time.Since(renewed).Round(time.Millisecond), err)
			close(h.lost)
			return
		}
	}
}

// Release stops renewal and deletes the lease if this owner still holds it.
func (h *Held) Release(ctx context.Context) error {
	h.stop()
	<-h.done
	err := h.m.rows.DeleteIf(ctx, []any{h.name}, orm.Eq("owner", h.token))
	if err != nil && !errors.Is(err, orm.ErrConflict) {
		return fmt.Errorf("lease: releasing %s: %w", h.name, err)
	}
	return nil
}
