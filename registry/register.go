package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Register checks inst, runs its health check, writes it with the registry's TTL
// and returns its Registration, which heartbeats (checks and writes it again, every
// Config.Heartbeat) until it is closed or ctx ends; then it deletes the row, so the
// instance leaves at once rather than after its TTL. An invalid inst gives an error
// matching ErrInvalid that names the field, and nothing is written. The first write
// is retried under Config.Retry; if it fails, Register returns its error and
// nothing heartbeats. Registering an id that is already listed takes its row over.
//
// The heartbeats run in a context that keeps ctx's values but ends only with ctx or
// Close.
func (r *Registry) Register(ctx context.Context, inst Instance) (*Registration, error) {
	if err := r.validate(inst); err != nil {
		return nil, err
	}
	inst = clone(inst)
	hctx, cancel := context.WithCancel(ctx)
	g := &Registration{
		r: r, inst: inst, since: time.Now().UTC().Truncate(time.Millisecond),
		cancel: cancel, done: make(chan struct{}), lapses: make(chan *LapseError, 1),
	}
	if err := g.beat(hctx); err != nil {
		cancel()
		return nil, fmt.Errorf("registry: register %s/%s: %w", inst.Name, inst.ID, err)
	}
	go g.run(hctx)
	return g, nil
}

// errDeregistered is beat's error once the registration has stopped.
var errDeregistered = errors.New("deregistered")

// LapseError says that a registration's heartbeats have not been written for longer
// than the TTL: its row has expired, and the instance is not discovered until a
// heartbeat succeeds again.
type LapseError struct {
	// Name and ID are the instance's.
	Name, ID string
	// Since is when the last successful write was sent (its monotonic reading).
	Since time.Time
	// Last is the last heartbeat's failure.
	Last error
}

// Error implements error.
func (e *LapseError) Error() string {
	return fmt.Sprintf("registry: %s/%s not written for %s (longer than its TTL): others no longer discover it: %v",
		e.Name, e.ID, time.Since(e.Since).Round(time.Millisecond), e.Last)
}

// Unwrap returns the last heartbeat's failure.
func (e *LapseError) Unwrap() error { return e.Last }

// Registration is a registered instance, kept alive by heartbeats until Close or
// Deregister, or the end of Register's context. Its methods are safe for concurrent
// use.
type Registration struct {
	r      *Registry
	since  time.Time
	cancel context.CancelFunc
	done   chan struct{} // closed once the heartbeats stopped and the row was deleted
	lapses chan *LapseError

	write sync.Mutex // serialises writes, so an older content never lands after a newer

	mu      sync.Mutex
	inst    Instance
	sent    time.Time   // when the last successful write was sent
	last    error       // the last failure since then
	lapse   *LapseError // set while lapsed
	timer   *time.Timer // fires at sent + TTL
	stopped bool
	derr    error // the deregistration's outcome, set before done is closed
}

// Instance returns the instance as it is registered now.
func (g *Registration) Instance() Instance {
	g.mu.Lock()
	defer g.mu.Unlock()
	return clone(g.inst)
}

// Lapses delivers a *LapseError each time the registration lapses: its heartbeats
// could not be written for longer than Config.TTL, so its row expired and others no
// longer discover it. The channel holds one; a lapse that finds it full is not
// delivered (Err still tells). A heartbeat that succeeds afterwards lists the
// instance again. The channel is never closed: select on Done as well.
func (g *Registration) Lapses() <-chan *LapseError { return g.lapses }

// Err returns the current lapse (a *LapseError) while the registration is lapsed,
// else nil.
func (g *Registration) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lapse == nil {
		return nil
	}
	return g.lapse
}

// Done is closed once the registration has stopped heartbeating and has deleted its
// row (or failed to: see Close).
func (g *Registration) Done() <-chan struct{} { return g.done }

// Update changes the instance's URL, version, metadata or health URL and writes it
// at once, with a health check; Name and ID must stay. An invalid inst gives an
// error matching ErrInvalid and changes nothing. A failed write leaves the new
// content for the next heartbeat.
func (g *Registration) Update(ctx context.Context, inst Instance) error {
	if err := g.r.validate(inst); err != nil {
		return err
	}
	g.mu.Lock()
	old := g.inst
	stopped := g.stopped
	if inst.Name != old.Name || inst.ID != old.ID {
		g.mu.Unlock()
		return fmt.Errorf("%w: update of %s/%s: Name and ID cannot change (got %s/%s)", ErrInvalid, old.Name, old.ID, inst.Name, inst.ID)
	}
	if stopped {
		g.mu.Unlock()
		return fmt.Errorf("registry: update of %s/%s: %w", old.Name, old.ID, errDeregistered)
	}
	g.inst = clone(inst)
	g.mu.Unlock()
	if err := g.beat(ctx); err != nil {
		return fmt.Errorf("registry: update of %s/%s: %w", inst.Name, inst.ID, err)
	}
	return nil
}

// Close stops the heartbeats and deletes the instance's row (deregistration). It
// waits for a heartbeat in flight, then for the delete, each bounded by
// Config.Heartbeat. It returns the delete's error, the same on every call. A failed
// delete leaves the row to expire by its TTL.
func (g *Registration) Close() error { return g.Deregister(context.Background()) }

// Deregister is Close, returning ctx's error if ctx ends first (the deregistration
// still completes in the background).
func (g *Registration) Deregister(ctx context.Context) error {
	g.cancel()
	select {
	case <-g.done:
		return g.derr
	case <-ctx.Done():
		return fmt.Errorf("registry: deregistering %s: %w", g.key(), ctx.Err())
	}
}

func (g *Registration) key() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inst.Name + "/" + g.inst.ID
}

// run heartbeats until ctx ends, then deregisters.
func (g *Registration) run(ctx context.Context) {
	t := time.NewTicker(g.r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			g.deregister(ctx)
			return
		case <-t.C:
		}
		// A failure is recorded by beat and reported by the lapse timer.
		_ = g.beat(ctx)
	}
}

// deregister deletes the row after the heartbeats stopped.
func (g *Registration) deregister(ctx context.Context) {
	g.write.Lock() // waits for an Update's write in flight
	g.mu.Lock()
	g.stopped = true
	if g.timer != nil {
		g.timer.Stop()
	}
	inst := g.inst
	g.mu.Unlock()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.r.cfg.Heartbeat)
	defer cancel()
	// Model.Delete takes no statement options; a one-statement batch (a single
	// partition, so unlogged) carries the delete at LOCAL_QUORUM whatever the DB's
	// default.
	b := g.r.rows.DB().NewBatch(orm.UnloggedBatch, orm.BatchLimits{}, orm.WithConsistency(consistency))
	err := g.r.rows.Batch(b).Delete(dctx, inst.Name, inst.ID)
	if err == nil {
		err = b.Exec(dctx)
	}
	g.write.Unlock()
	if err != nil {
		err = fmt.Errorf("registry: deregistering %s/%s from table %s (the row expires by its TTL): %w", inst.Name, inst.ID, g.r.cfg.Table, err)
	}
	g.mu.Lock()
	g.derr = err
	g.mu.Unlock()
	close(g.done)
}

// beat checks the instance's health and writes its row with the TTL, retrying under
// Config.Retry, all within one heartbeat interval.
func (g *Registration) beat(ctx context.Context) error {
	g.write.Lock()
	defer g.write.Unlock()
	g.mu.Lock()
	inst, stopped := g.inst, g.stopped
	g.mu.Unlock()
	if stopped {
		return errDeregistered
	}
	ctx, cancel := context.WithTimeout(ctx, g.r.cfg.Heartbeat)
	defer cancel()
	problem := g.r.check(ctx, inst.HealthURL)
	sent := time.Now()
	rw := row{
		Service: inst.Name, ID: inst.ID, URL: inst.URL, Version: inst.Version, Metadata: inst.Metadata,
		HealthURL: inst.HealthURL, Healthy: problem == "", Problem: problem,
		RegisteredAt: g.since, HeartbeatAt: sent.UTC().Truncate(time.Millisecond),
	}
	err := retry.Do(ctx, g.r.cfg.Retry, func(ctx context.Context, _ int) error {
		return g.r.rows.Insert(ctx, &rw, orm.WithTTL(g.r.cfg.TTL), orm.WithConsistency(consistency))
	})
	if err != nil {
		err = fmt.Errorf("heartbeat to table %s: %w", g.r.cfg.Table, err)
		g.mu.Lock()
		g.last = err
		g.mu.Unlock()
		return err
	}
	g.wrote(sent)
	return nil
}

// wrote records a successful write sent at sent: the lapse timer starts again.
func (g *Registration) wrote(sent time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent, g.last, g.lapse = sent, nil, nil
	left := time.Until(sent.Add(g.r.cfg.TTL))
	if g.timer == nil {
		g.timer = time.AfterFunc(left, g.expired)
		return
	}
	g.timer.Reset(left)
}

// expired runs when the TTL since the last successful write has passed.
func (g *Registration) expired() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.lapse != nil {
		return
	}
	if left := time.Until(g.sent.Add(g.r.cfg.TTL)); left > 0 {
		g.timer.Reset(left) // a write succeeded meanwhile
		return
	}
	last := g.last
	if last == nil {
		last = errors.New("no heartbeat completed")
	}
	g.lapse = &LapseError{Name: g.inst.Name, ID: g.inst.ID, Since: g.sent, Last: last}
	select {
	case g.lapses <- g.lapse:
	default:
	}
}

// check runs the health check of healthURL, returning "" when it passes and the
// problem otherwise; an empty healthURL passes.
func (r *Registry) check(ctx context.Context, healthURL string) string {
	if healthURL == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Health.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, healthURL, nil)
	if err != nil {
		return fmt.Sprintf("GET %s: %v", healthURL, err)
	}
	resp, err := r.cfg.Health.Client.Do(req)
	if err != nil {
		return fmt.Sprintf("GET %s: %v", healthURL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("GET %s: %s", healthURL, resp.Status)
	}
	return ""
}
