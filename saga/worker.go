package saga

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// sagaKey names a saga across tenants.
type sagaKey struct{ tenant, id string }

// worker is a running Run: the shards it holds and the sagas it is advancing.
type worker struct {
	o   *Orchestrator
	ctx context.Context
	wg  sync.WaitGroup
	sem chan struct{}

	mu     sync.Mutex
	shards map[int32]*shard
	busy   map[sagaKey]bool
	again  map[sagaKey]bool
	unborn map[sagaKey]time.Time // sagas a timer named but not found yet, since when
}

// shard is a shard this worker holds: its lease, its timer cursor, and the timers
// read but not yet handled.
type shard struct {
	n      int32
	held   *lease.Held
	ctx    context.Context // ends when the lease is lost or the worker stops
	cancel context.CancelFunc

	// guarded by worker.mu
	cursor  int64                      // every timer at or before it is handled
	saved   int64                      // the cursor as last stored
	savedAt time.Time                  // when it was stored
	pending map[sagaKey][]int64        // timers read, not yet handled: their fire times
	done    map[sagaKey]map[int64]bool // timers handled after the cursor
}

// Run makes this process a worker until ctx ends: it takes the leases of shards
// nobody holds (up to Config.MaxShards), reads their due timers and advances their
// sagas, and gives its leases back when it returns, so another worker takes over at
// once. One Run at a time per Orchestrator. It returns ctx's error.
func (o *Orchestrator) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	w := &worker{o: o, ctx: ctx, sem: make(chan struct{}, o.cfg.Concurrency),
		shards: map[int32]*shard{}, busy: map[sagaKey]bool{}, again: map[sagaKey]bool{},
		unborn: map[sagaKey]time.Time{}}
	o.mu.Lock()
	if o.worker != nil {
		o.mu.Unlock()
		cancel()
		return errors.New("saga: Run: this Orchestrator already runs a worker")
	}
	o.worker = w
	o.mu.Unlock()
	defer func() {
		cancel()
		w.wg.Wait() // each shard's goroutine gives its lease back as it ends
		o.mu.Lock()
		o.worker = nil
		o.mu.Unlock()
	}()
	claimEvery := min(4*o.cfg.Poll, o.cfg.LeaseTTL/4)
	for {
		w.claim()
		t := time.NewTimer(claimEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// leaseName is shard n's lease.
func (o *Orchestrator) leaseName(n int32) string { return fmt.Sprintf("%s/shard/%d", o.cfg.Table, n) }

// claim tries to take the leases of shards without a holder, in random order so
// that workers starting together share them.
func (w *worker) claim() {
	w.mu.Lock()
	have := len(w.shards)
	w.mu.Unlock()
	for _, i := range rand.Perm(w.o.cfg.Shards) {
		n := int32(i)
		w.mu.Lock()
		_, mine := w.shards[n]
		w.mu.Unlock()
		if mine || have >= w.o.cfg.MaxShards || w.ctx.Err() != nil {
			continue
		}
		held, err := w.o.leases.TryAcquire(w.ctx, w.o.leaseName(n))
		if err != nil {
			if !errors.Is(err, lease.ErrHeld) && w.ctx.Err() == nil {
				w.o.cfg.Log.Warn("saga: taking a shard", "shard", n, "err", err)
			}
			continue
		}
		if err := w.adopt(n, held); err != nil {
			w.o.cfg.Log.Warn("saga: taking a shard's timer cursor", "shard", n, "err", err)
			_ = held.Release(context.WithoutCancel(w.ctx))
			continue
		}
		have++
	}
}

// adopt makes shard n, whose lease is held, this worker's: it takes its cursor over
// and starts reading its timers.
func (w *worker) adopt(n int32, held *lease.Held) error {
	ctx, cancel := context.WithCancel(lease.NewContext(w.ctx, held))
	pos, err := w.o.takeCursor(ctx, n, held.Token())
	if err != nil {
		cancel()
		return err
	}
	sh := &shard{n: n, held: held, ctx: ctx, cancel: cancel, cursor: pos, saved: pos, savedAt: time.Now(),
		pending: map[sagaKey][]int64{}, done: map[sagaKey]map[int64]bool{}}
	w.mu.Lock()
	w.shards[n] = sh
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.pollLoop(sh)
		w.mu.Lock()
		if w.shards[n] == sh {
			delete(w.shards, n)
		}
		w.mu.Unlock()
		cancel()
		// Give the lease back (this also stops its renewals), so another worker
		// takes the shard at once rather than after the lease time.
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = held.Release(rctx)
		rcancel()
	}()
	return nil
}

// takeCursor makes token the owner of shard n's timer cursor and returns its
// position. Sync creates the cursors.
func (o *Orchestrator) takeCursor(ctx context.Context, n int32, token string) (int64, error) {
	cur, err := o.cursor.Query().Where(orm.Eq("shard", n)).With(orm.WithConsistency(orm.Serial)).One(ctx)
	switch {
	case errors.Is(err, orm.ErrNotFound):
		return 0, fmt.Errorf("saga: shard %d has no timer cursor: run Orchestrator.Sync after changing Config.Shards", n)
	case err != nil:
		return 0, fmt.Errorf("saga: reading the cursor of shard %d: %w", n, err)
	}
	if err := o.cursor.PatchIf(ctx, []any{n}, []orm.Predicate{orm.Eq("token", cur.Token)}, []orm.Change{orm.Set("token", token)}); err != nil {
		return 0, fmt.Errorf("saga: taking the cursor of shard %d over: %w", n, err)
	}
	return cur.Position, nil
}

// pollLoop reads shard sh's due timers every Poll until its lease ends.
func (w *worker) pollLoop(sh *shard) {
	for {
		if !sh.held.Valid() {
			w.o.cfg.Log.Warn("saga: shard lease lost", "shard", sh.n, "err", sh.held.Err())
			return
		}
		if err := w.poll(sh); err != nil && sh.ctx.Err() == nil {
			w.o.cfg.Log.Warn("saga: reading timers", "shard", sh.n, "err", err)
		}
		t := time.NewTimer(w.o.cfg.Poll)
		select {
		case <-sh.ctx.Done():
			t.Stop()
			return
		case <-sh.held.Lost():
			t.Stop()
		case <-t.C:
		}
	}
}

// poll reads the timers of sh due by now beyond its cursor, hands their sagas to
// advance, and moves the cursor up to the oldest timer not yet handled (and at
// least Lag behind the clock).
func (w *worker) poll(sh *shard) error {
	now := ms(time.Now())
	w.mu.Lock()
	from := sh.cursor
	w.mu.Unlock()
	var due []timerRow
	for b := w.o.bucketOf(from + 1); b <= w.o.bucketOf(now); b++ {
		q := w.o.timers.Query().Where(orm.Eq("shard", sh.n), orm.Eq("bucket", b), orm.Gt("fire_at_ms", from), orm.Lte("fire_at_ms", now))
		for t, err := range q.All(sh.ctx) {
			if err != nil {
				return fmt.Errorf("saga: timers of shard %d bucket %d: %w", sh.n, b, err)
			}
			due = append(due, t)
		}
	}
	var run []sagaKey
	w.mu.Lock()
	for _, t := range due {
		k := sagaKey{t.Tenant, t.ID}
		if sh.done[k][t.FireAt] || contains(sh.pending[k], t.FireAt) {
			continue
		}
		sh.pending[k] = append(sh.pending[k], t.FireAt)
		run = append(run, k)
	}
	// The cursor may pass every timer handled, never one still pending.
	next := now - w.o.cfg.Lag.Milliseconds()
	for _, fires := range sh.pending {
		for _, f := range fires {
			next = min(next, f-1)
		}
	}
	save := next > sh.cursor
	if save {
		sh.cursor = next
		for k, fires := range sh.done {
			for f := range fires {
				if f <= next {
					delete(fires, f)
				}
			}
			if len(fires) == 0 {
				delete(sh.done, k)
			}
		}
	}
	store := save && (next-sh.saved >= 1000 || time.Since(sh.savedAt) > w.o.cfg.LeaseTTL/2)
	token := sh.held.Token()
	w.mu.Unlock()
	for _, k := range run {
		w.enqueue(k)
	}
	if !store {
		return nil
	}
	err := w.o.cursor.PatchIf(sh.ctx, []any{sh.n}, []orm.Predicate{orm.Eq("token", token)}, []orm.Change{orm.Set("position_ms", next)})
	if errors.Is(err, orm.ErrConflict) {
		// Another worker took the cursor over: this one no longer owns the shard.
		sh.cancel()
		return fmt.Errorf("saga: the cursor of shard %d was taken over", sh.n)
	}
	if err == nil {
		w.mu.Lock()
		sh.saved, sh.savedAt = next, time.Now()
		w.mu.Unlock()
	}
	return err
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// shardOf returns the shard of k if this worker holds it.
func (w *worker) shardOf(k sagaKey) *shard {
	n := w.o.shardOf(k.tenant, k.id)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shards[n]
}

// poke hands saga k to the worker if it holds k's shard (a saga just started here).
func (o *Orchestrator) poke(tenantID, id string) {
	o.mu.Lock()
	w := o.worker
	o.mu.Unlock()
	if w != nil {
		k := sagaKey{tenantID, id}
		if w.shardOf(k) != nil {
			w.enqueue(k)
		}
	}
}

// enqueue advances saga k on a goroutine of its own, unless one already does: then
// that one goes round again when it is done.
func (w *worker) enqueue(k sagaKey) {
	w.mu.Lock()
	if w.ctx.Err() != nil {
		w.mu.Unlock()
		return
	}
	if w.busy[k] {
		w.again[k] = true
		w.mu.Unlock()
		return
	}
	w.busy[k] = true
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		select {
		case w.sem <- struct{}{}:
		case <-w.ctx.Done():
			w.mu.Lock()
			delete(w.busy, k)
			delete(w.again, k)
			w.mu.Unlock()
			return
		}
		defer func() { <-w.sem }()
		for {
			started := ms(time.Now())
			err := w.advance(k)
			w.mu.Lock()
			if err == nil {
				w.handled(k, started)
			} else if w.ctx.Err() == nil {
				w.o.cfg.Log.Warn("saga: advancing", "saga", k.id, "tenant", k.tenant, "err", err)
			}
			if w.again[k] && w.ctx.Err() == nil {
				delete(w.again, k)
				w.mu.Unlock()
				continue
			}
			delete(w.busy, k)
			delete(w.again, k)
			w.mu.Unlock()
			return
		}
	}()
}

// handled marks the timers of k due by started as handled. Called with w.mu held.
func (w *worker) handled(k sagaKey, started int64) {
	sh := w.shards[w.o.shardOf(k.tenant, k.id)]
	if sh == nil {
		return
	}
	var keep []int64
	for _, f := range sh.pending[k] {
		if f <= started {
			if sh.done[k] == nil {
				sh.done[k] = map[int64]bool{}
			}
			sh.done[k][f] = true
		} else {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		delete(sh.pending, k)
	} else {
		sh.pending[k] = keep
	}
}

// later hands saga k to the worker again at t, if that is soon; the durable timer
// covers it otherwise, and if this worker stops first.
func (w *worker) later(k sagaKey, t time.Time) {
	d := time.Until(t)
	if d > 2*w.o.cfg.LeaseTTL {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tm := time.NewTimer(max(d, 0))
		defer tm.Stop()
		select {
		case <-w.ctx.Done():
		case <-tm.C:
			w.enqueue(k)
		}
	}()
}

// advance moves saga k as far as it can go now.
func (w *worker) advance(k sagaKey) error {
	sh := w.shardOf(k)
	if sh == nil {
		return nil // not this worker's any more: its new holder reads the timer
	}
	ctx := sh.ctx
	if k.tenant != "" {
		ctx = tenant.With(ctx, k.tenant)
	}
	r, err := w.o.load(ctx, k.id, false)
	if errors.Is(err, ErrNotFound) {
		return w.missing(ctx, sh, k)
	}
	if err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.unborn, k)
	w.mu.Unlock()
	if Status(r.Status).Final() {
		w.o.ended(k.id)
		return nil
	}
	w.o.mu.Lock()
	f := w.o.defs[r.Name]
	w.o.mu.Unlock()
	if f == nil {
		// Another program's saga, or one this program no longer defines: look again
		// later rather than hold the shard's cursor back.
		w.o.cfg.Log.Error("saga: no definition registered", "saga", k.id, "name", r.Name, "err", ErrUnknownDefinition)
		return w.o.schedule(ctx, k.tenant, k.id, time.Now().Add(time.Minute))
	}
	return f.advance(ctx, w, sh, k, r)
}

// startGrace is how long a worker keeps looking for a saga a timer named and it
// did not find: Start writes the timer first, then the saga, and that write can
// be slow (an LWT under load, a paused process) or settled only by a later serial
// read.
const startGrace = time.Minute

// missing handles a timer of saga k, which is not there: a Start still on its way
// to writing it, or one that never did. For startGrace from the first time this
// worker missed it (or from the timer's fire time, if earlier) it writes a timer
// to look again a second later; then it gives up on it.
func (w *worker) missing(ctx context.Context, sh *shard, k sagaKey) error {
	w.mu.Lock()
	since, ok := w.unborn[k]
	if !ok {
		since = time.Now()
		for _, f := range sh.pending[k] {
			if t := fromMS(f); t.Before(since) {
				since = t
			}
		}
		w.unborn[k] = since
	}
	over := time.Since(since) > startGrace
	if over {
		delete(w.unborn, k)
	}
	w.mu.Unlock()
	if over {
		w.o.cfg.Log.Warn("saga: a timer names a saga that was never stored; dropped", "saga", k.id, "tenant", k.tenant, "since", since)
		return nil
	}
	return w.o.schedule(ctx, k.tenant, k.id, time.Now().Add(max(w.o.cfg.Lag, time.Second)))
}

// HeldShards returns the shards this process's worker holds now, in order; none
// when Run is not running.
func (o *Orchestrator) HeldShards() []int {
	o.mu.Lock()
	w := o.worker
	o.mu.Unlock()
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int, 0, len(w.shards))
	for n := range w.shards {
		out = append(out, int(n))
	}
	slices.Sort(out)
	return out
}
