package lease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
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
	// Scope says, on a tenanted DB (orm.DB.WithTenancy), whose leases these are:
	// orm.TenantScope (the default) gives each tenant its own leases, so a name is
	// held once per tenant and every call needs a tenant in its context;
	// orm.KeyspaceScope, once per keyspace (a migration lock); orm.GlobalScope, once
	// for the whole deployment. On a DB without tenancy it changes nothing.
	Scope orm.Scope
	// TTL is how long a lease lives without renewal (default 15s, at least 1s). The
	// row is written with a TTL one second longer, since Cassandra counts TTLs in
	// whole seconds from the start of the current one, so it lives at least TTL.
	TTL time.Duration
	// Margin is how much sooner than the row a holder's lease ends (default TTL/5, at
	// most TTL/2): a holder stops by itself once its last successful write was sent
	// TTL minus Margin ago, on its own monotonic clock. The margin covers the drift
	// of this process's clock against the servers' during one TTL, and the time a
	// write checked just before the deadline takes to land. The holder renews every
	// (TTL-Margin)/4, each attempt bounded by that interval, so three attempts fit
	// before the deadline.
	Margin time.Duration
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
	// Renewing, when set, is called on a held lease's renewal goroutine before each
	// renewal is sent, and the renewal waits for it: tests block it to act out a
	// paused or cut-off holder. It must return once ctx ends (Release ends it). The
	// deadline does not wait for it.
	Renewing func(ctx context.Context, name string)
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
	if c.Margin == 0 {
		c.Margin = c.TTL / 5
	}
}

// renewEvery is the renewal interval: three attempts fit in the lease's validity.
func (c *Config) renewEvery() time.Duration { return (c.TTL - c.Margin) / 4 }

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
	if c.Margin < 0 || c.Margin > c.TTL/2 {
		return fmt.Errorf("lease: Config.Margin %v: want between 0 and TTL/2 (%v)", c.Margin, c.TTL/2)
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
	// unsure maps a lease name to the tokens of the acquisitions whose outcome was
	// unknown (they timed out) since the last one that was settled: if one of those
	// inserts did apply, the next attempt adopts it instead of waiting for its own
	// row to expire.
	unsure map[string][]string
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
	rows, err := orm.NewModel[row](db, orm.TableName(cfg.Table), orm.WithScope(cfg.Scope))
	if err != nil {
		return nil, fmt.Errorf("lease: table %s: %w", cfg.Table, err)
	}
	return &Manager{rows: rows, cfg: cfg, unsure: map[string][]string{}}, nil
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
// ErrHeld) that names the holder. An error matching orm.ErrUncertain leaves the
// outcome unknown (the insert may have applied): the next TryAcquire or Acquire of
// name through this Manager recognises the row by its token and adopts it. Any other
// error wrote nothing.
func (m *Manager) TryAcquire(ctx context.Context, name string) (*Held, error) {
	if name == "" {
		return nil, errors.New("lease: TryAcquire: empty lease name")
	}
	// Each acquisition has its own token, so two acquisitions through one Manager
	// (two goroutines running the same job) exclude each other like two processes.
	token := m.cfg.Owner + "#" + orm.NewUUID().String()[:8]
	sent := time.Now()
	r := row{Name: name, Owner: token, AcquiredAt: sent.UTC().Truncate(time.Millisecond)}
	err := m.rows.InsertIfNotExists(ctx, &r, orm.WithTTL(m.cellTTL()))
	var ce *orm.ConflictError
	switch {
	case errors.As(err, &ce):
		cur, _ := ce.Current.(*row)
		if cur == nil || !m.claimUnsure(ctx, name, cur.Owner) {
			return nil, heldError(name, ce.Current)
		}
		return m.adopt(ctx, name, cur)
	case err != nil:
		// An insert of unknown outcome may have applied: remember its token for the
		// next attempt. Any other failure (a refusal, or a call the ORM refused
		// before sending it: no tenant, a suspended one) wrote nothing.
		if errors.Is(err, orm.ErrUncertain) {
			m.rememberUnsure(ctx, name, token)
		}
		return nil, fmt.Errorf("lease: acquiring %s: %w", name, err)
	}
	m.forget(ctx, name)
	return m.hold(ctx, name, token, r.AcquiredAt, sent), nil
}

// claimUnsure reports whether owner is the token of one of this Manager's
// acquisitions of name whose outcome was unknown, and if so takes it out of them, so
// that only one caller (an adopt or a give-back) acts on that row. Any other owner
// settles them all: none of them holds the row.
func (m *Manager) claimUnsure(ctx context.Context, name, owner string) bool {
	k := unsureKey(ctx, name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.Index(m.unsure[k], owner); i >= 0 {
		m.unsure[k] = slices.Delete(m.unsure[k], i, i+1)
		return true
	}
	delete(m.unsure, k)
	return false
}

// unsureKey keys Manager.unsure: the lease's name, and on a tenanted DB its tenant,
// whose row it is (another tenant's lease of the same name is another row).
func unsureKey(ctx context.Context, name string) string {
	id, _ := tenant.From(ctx)
	return id + "\x00" + name
}

// rememberUnsure records tokens of acquisitions of name whose outcome is unknown.
func (m *Manager) rememberUnsure(ctx context.Context, name string, tokens ...string) {
	k := unsureKey(ctx, name)
	m.mu.Lock()
	m.unsure[k] = append(m.unsure[k], tokens...)
	m.mu.Unlock()
}

// forget drops the uncertain acquisitions of name: their outcome is settled.
func (m *Manager) forget(ctx context.Context, name string) {
	m.mu.Lock()
	delete(m.unsure, unsureKey(ctx, name))
	m.mu.Unlock()
}

// giveBack deletes the rows that this Manager's acquisitions of name whose outcome
// was unknown may have written, when Acquire gives up: they would otherwise hold the
// lease, for nobody, until they expire. It runs even though ctx has ended, within one
// renewal interval. Only a delete that applied settles its token: an insert that
// timed out can still apply a little later (the server retries a contended Paxos
// round), so the other tokens stay remembered for the next attempt to adopt.
func (m *Manager) giveBack(ctx context.Context, name string) {
	// The tokens are taken out first, so a concurrent TryAcquire cannot adopt a row
	// that is being deleted; those whose delete did not apply are put back.
	k := unsureKey(ctx, name)
	m.mu.Lock()
	tokens := m.unsure[k]
	delete(m.unsure, k)
	m.mu.Unlock()
	if len(tokens) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.renewEvery())
	defer cancel()
	for _, token := range tokens {
		if err := m.rows.DeleteIf(ctx, []any{name}, orm.Eq("owner", token)); err != nil {
			m.rememberUnsure(ctx, name, token)
		}
	}
}

// adopt takes over cur, the row of an acquisition of this Manager whose outcome was
// unknown, whose token the caller has claimed. The row may be close to expiry, so it
// is renewed before it is handed over; if that renewal's outcome is unknown too, the
// token is remembered again.
func (m *Manager) adopt(ctx context.Context, name string, cur *row) (*Held, error) {
	sent := time.Now()
	err := m.rows.PatchIf(ctx, []any{name}, []orm.Predicate{orm.Eq("owner", cur.Owner)},
		[]orm.Change{orm.Set("owner", cur.Owner), orm.Set("acquired_at", cur.AcquiredAt)}, orm.WithTTL(m.cellTTL()))
	var ce *orm.ConflictError
	switch {
	case errors.As(err, &ce):
		m.forget(ctx, name) // the row expired or was taken meanwhile
		return nil, fmt.Errorf("lease: taking over %s after an uncertain acquisition: %w", name, heldError(name, ce.Current))
	case err != nil:
		m.rememberUnsure(ctx, name, cur.Owner)
		return nil, fmt.Errorf("lease: taking over %s after an uncertain acquisition: %w", name, err)
	}
	m.forget(ctx, name)
	return m.hold(ctx, name, cur.Owner, cur.AcquiredAt, sent), nil
}

// cellTTL is the TTL written: a second more than the lease's, because Cassandra
// counts TTLs from the start of the current second.
func (m *Manager) cellTTL() time.Duration { return m.cfg.TTL + time.Second }

// Acquire takes lease name, waiting while another owner holds it, until ctx ends. A
// failed attempt (a timeout, say) is retried; three failures in a row end the wait.
// When it gives up, it deletes what its attempts of unknown outcome may have written.
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
			m.giveBack(ctx, name)
			if holder != nil {
				// ctx ended during an attempt rather than between two: say whom
				// Acquire was waiting for all the same.
				return nil, fmt.Errorf("lease: waiting for %s held by %s: %w", name, holder.Owner, err)
			}
			return nil, err
		default:
			if failures++; failures >= 3 {
				m.giveBack(ctx, name)
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			m.giveBack(ctx, name)
			if holder != nil {
				return nil, fmt.Errorf("lease: waiting for %s held by %s: %w", name, holder.Owner, ctx.Err())
			}
			return nil, fmt.Errorf("lease: waiting for %s: %w", name, ctx.Err())
		case <-time.After(m.cfg.Poll):
		}
	}
}

// hold starts renewing an acquisition whose last write was sent at sent. The renewals
// run in a context of their own that keeps the values of ctx, the acquiring call's
// (the tenant, on a tenanted DB), but not its end.
func (m *Manager) hold(ctx context.Context, name, token string, since, sent time.Time) *Held {
	vals := context.WithoutCancel(ctx)
	ctx, cancel := context.WithCancel(vals)
	h := &Held{m: m, name: name, token: token, since: since, vals: vals, lost: make(chan struct{}), stop: cancel, done: make(chan struct{})}
	h.mu.Lock() // expire may run at once if the write took longer than the lease
	h.deadline = sent.Add(m.cfg.TTL - m.cfg.Margin)
	h.timer = time.AfterFunc(time.Until(h.deadline), h.expire)
	h.mu.Unlock()
	go h.renew(ctx)
	return h
}

// ErrExpired is wrapped by Held.Err when the holder's deadline passed before a
// renewal succeeded: the holder stopped itself before its row could expire.
var ErrExpired = errors.New("lease: deadline passed")

// Held is a lease this process holds. It renews itself until Release.
//
// The lease is valid until its deadline: the time its last successful write (the
// acquisition or a renewal) was sent, plus Config.TTL minus Config.Margin, on this
// process's monotonic clock. Lost is closed at the deadline, whether or not a
// renewal failed (the process may have been paused, or cut off, with no renewal
// attempted), and when a renewal finds the lease taken. The holder then stops
// before another process can take the lease. Lost is final: a renewal that succeeds
// after the deadline does not revive the lease.
//
// A lease only protects work that checks it: check Valid (or a context from
// NewContext, or Lost) before each step, and condition writes on Token where the
// data allows.
type Held struct {
	m     *Manager
	name  string
	token string
	since time.Time
	vals  context.Context // the acquiring call's values (its tenant), without its end
	lost  chan struct{}
	stop  context.CancelFunc
	done  chan struct{}

	mu       sync.Mutex
	deadline time.Time   // monotonic; moves forward with each renewal
	timer    *time.Timer // fires expire at deadline
	err      error       // why the lease was lost; set when lost is closed
	last     error       // the last renewal's failure since the last success
	released bool
}

// Name returns the lease's name.
func (h *Held) Name() string { return h.name }

// Token identifies this acquisition: the Manager's owner id and a suffix of its own.
// Work guarded by the lease can be fenced with it, by writing it beside the work's
// state and conditioning later writes on it, so a holder that lost the lease while
// paused cannot overwrite a successor's state.
func (h *Held) Token() string { return h.token }

// Lost is closed when the lease is lost, at the latest at its deadline: stop the
// work it guards.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Deadline returns the end of the lease's validity as it stands now: each successful
// renewal moves it later. It carries a monotonic clock reading, so compare it with
// time.Now (time.Until, Before), not with times from elsewhere.
func (h *Held) Deadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadline
}

// Valid reports whether the lease is still held: not released, not lost and before
// its deadline. Once the deadline has passed it closes Lost, if the timer has not
// yet, so Valid, Err and Lost never disagree.
func (h *Held) Valid() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkLocked()
	return h.err == nil && !h.released
}

// Err returns nil until Lost is closed, then why the lease was lost: a *HeldError
// naming the new holder when another owner took it, or an error wrapping ErrExpired
// when its deadline passed (wrapping as well the last renewal's failure, if any). Like
// Valid, it closes Lost once the deadline has passed.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkLocked()
	return h.err
}

// checkLocked loses the lease if its deadline has passed. h.mu is held.
func (h *Held) checkLocked() {
	if h.err != nil || h.released || time.Now().Before(h.deadline) {
		return
	}
	if h.last != nil {
		h.loseLocked(fmt.Errorf("%w: %s not renewed within %s of its last renewal: %w",
			ErrExpired, h.name, h.m.cfg.TTL-h.m.cfg.Margin, h.last))
		return
	}
	h.loseLocked(fmt.Errorf("%w: %s not renewed within %s of its last renewal", ErrExpired, h.name, h.m.cfg.TTL-h.m.cfg.Margin))
}

// loseLocked records why the lease is lost and closes Lost. h.mu is held.
func (h *Held) loseLocked(err error) {
	h.err = err
	h.timer.Stop()
	close(h.lost)
}

// expire runs at the deadline; a renewal may have moved it meanwhile.
func (h *Held) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil || h.released {
		return
	}
	if left := time.Until(h.deadline); left > 0 {
		h.timer.Reset(left)
		return
	}
	h.checkLocked()
}

// renewed moves the deadline after a renewal sent at sent succeeded, unless the
// lease was lost meanwhile: Lost is final.
func (h *Held) renewed(sent time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkLocked()
	if h.err != nil || h.released {
		return
	}
	h.last = nil
	if d := sent.Add(h.m.cfg.TTL - h.m.cfg.Margin); d.After(h.deadline) {
		h.deadline = d
		h.timer.Reset(time.Until(d))
	}
}

// failed records a renewal's failure, or loses the lease when the row is another's.
func (h *Held) failed(err error) (lost bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkLocked()
	if h.err != nil {
		return true
	}
	var ce *orm.ConflictError
	if !errors.As(err, &ce) {
		h.last = err
		return false
	}
	if cur, ok := ce.Current.(*row); ok && cur != nil {
		h.loseLocked(heldError(h.name, cur))
	} else {
		h.loseLocked(fmt.Errorf("lease: %s expired before it was renewed", h.name))
	}
	return true
}

func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	every := h.m.cfg.renewEvery()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.lost:
			return
		case <-t.C:
		}
		if h.m.cfg.Renewing != nil {
			h.m.cfg.Renewing(ctx, h.name)
		}
		if ctx.Err() != nil || !h.Valid() {
			return
		}
		// The lease lasts TTL from the write, which comes after sent: counting from
		// sent errs on the safe side. An attempt may not outlast a tick.
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, every)
		// Setting every column renews every cell's TTL, so the whole row lives on.
		err := h.m.rows.PatchIf(actx, []any{h.name}, []orm.Predicate{orm.Eq("owner", h.token)},
			[]orm.Change{orm.Set("owner", h.token), orm.Set("acquired_at", h.since)}, orm.WithTTL(h.m.cellTTL()))
		cancel()
		switch {
		case err == nil:
			h.renewed(sent)
		case ctx.Err() != nil:
			return
		case h.failed(err):
			return
		}
	}
}

// Release stops renewal and deletes the lease if this owner still holds it. Valid
// is false from then on; Lost is not closed by Release. ctx bounds the delete; like
// the renewals, it runs with the values of the context the lease was acquired with,
// so on a tenanted DB it deletes the row of the acquiring call's tenant whatever
// tenant ctx carries, or none.
func (h *Held) Release(ctx context.Context) error {
	h.mu.Lock()
	h.released = true
	h.timer.Stop()
	h.mu.Unlock()
	h.stop()
	<-h.done
	dctx, cancel := context.WithCancelCause(h.vals)
	defer cancel(nil)
	if ctx.Err() != nil {
		cancel(context.Cause(ctx))
	}
	defer context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })()
	err := h.m.rows.DeleteIf(dctx, []any{h.name}, orm.Eq("owner", h.token))
	if err != nil && !errors.Is(err, orm.ErrConflict) {
		return fmt.Errorf("lease: releasing %s: %w", h.name, err)
	}
	return nil
}
