package inventory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// cursorName is the key of the sweeper's cursor row (one per tenant on a tenanted
// DB).
const cursorName = "expiry"

// cursorStep is how many finished buckets a pass reads before it moves the cursor,
// when it has many to catch up on.
const cursorStep = 60

// Sweep is what one pass of RunExpiry did.
type Sweep struct {
	// From and To are the cursor before and after the pass: the buckets in
	// [From, To) were read for the last time.
	From, To time.Time
	// Buckets is the number of buckets read, the open ones included.
	Buckets int
	// Entries is the number of index rows read.
	Entries int
	// Released is the number of holds released because their time had passed.
	Released int
	// Err is the failure that ended the pass early, if any; the next pass goes on
	// from the cursor.
	Err error
}

// RunExpiry releases the holds whose time has passed, so that units never stay
// held by an order that died, until ctx ends; it returns ctx's cause then. Every
// Config.Poll it reads the expiry index: the buckets that are complete (their end
// plus Config.Grace has passed) from the cursor on, for the last time, moving the
// cursor past them, and the open buckets up to now for the holds already due.
// For each product named it releases every hold due in the product's partition.
//
// The cursor is a row of its own table (per tenant, on a tenanted DB), moved only
// forward by a lightweight transaction: a restarted sweeper goes on where the last
// one stopped, and never reads a bucket the cursor has passed, nor its tombstones.
// Without a cursor it starts Config.Lookback ago. Several sweepers may run at once:
// each release is conditioned on the product's version, so a hold is released once,
// and they only read the same rows twice. A failure of a pass that may pass (a
// timeout, unavailable replicas, contention) is reported to Config.OnSweep and the
// next pass tries again; any other (no tenant in ctx, say) ends RunExpiry.
//
// On a tenanted DB, run it once per tenant, with the tenant in ctx.
func (s *Service) RunExpiry(ctx context.Context) error {
	sw := sweeper{s: s, done: map[expiryEntry]bool{}}
	for {
		rep := sw.pass(ctx)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if s.cfg.OnSweep != nil {
			s.cfg.OnSweep(rep)
		}
		if rep.Err != nil && !transient(rep.Err) {
			return rep.Err
		}
		t := time.NewTimer(s.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// sweeper is the state of one RunExpiry: the index rows of the buckets it has not
// finished that it has already handled, so that each is handled once.
type sweeper struct {
	s    *Service
	done map[expiryEntry]bool
}

// pass reads the finished buckets from the cursor on, moves the cursor, then reads
// the open buckets up to now.
func (sw *sweeper) pass(ctx context.Context) Sweep {
	s := sw.s
	now := time.Now()
	cur, err := s.loadCursor(ctx, now)
	rep := Sweep{From: cur, To: cur}
	if err != nil {
		rep.Err = err
		return rep
	}
	for e := range sw.done {
		if e.Bucket.Before(cur) { // passed by another sweeper's cursor
			delete(sw.done, e)
		}
	}
	width := s.cfg.Bucket
	moved := cur
	for next := cur; !next.Add(width + s.cfg.Grace).After(now); {
		if err := sw.bucket(ctx, next, time.Time{}, &rep); err != nil {
			rep.Err = err
			break
		}
		next = next.Add(width)
		rep.To = next
		if rep.To.Sub(moved) >= cursorStep*width {
			if err := s.advance(ctx, moved, rep.To); err != nil {
				rep.Err = err
				return rep
			}
			moved = rep.To
		}
	}
	if rep.To.After(moved) {
		if err := s.advance(ctx, moved, rep.To); err != nil && rep.Err == nil {
			rep.Err = err
		}
	}
	if rep.Err != nil {
		return rep
	}
	for b := rep.To; !b.After(now); b = b.Add(width) {
		if err := sw.bucket(ctx, b, now, &rep); err != nil {
			rep.Err = err
			break
		}
	}
	return rep
}

// bucket reads the index rows of bucket b, those due by upTo (all, for a zero
// upTo: the bucket's last read), and releases the due holds of each product they
// name that this sweeper has not handled yet. After the last read the bucket's
// rows are forgotten.
func (sw *sweeper) bucket(ctx context.Context, b, upTo time.Time, rep *Sweep) error {
	s := sw.s
	rep.Buckets++
	q := s.expiry.Query().Where(orm.Eq("bucket", b))
	if !upTo.IsZero() {
		q = q.Where(orm.Lte("expires_at", upTo))
	}
	products := map[string][]expiryEntry{}
	for e, err := range q.All(ctx) {
		if err != nil {
			return fmt.Errorf("inventory: read expiry bucket %s: %w", b.Format(time.RFC3339), err)
		}
		rep.Entries++
		if !sw.done[e] {
			products[e.ProductID] = append(products[e.ProductID], e)
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(products)) {
		n, err := s.expire(ctx, pid)
		rep.Released += n
		if err != nil {
			return err
		}
		for _, e := range products[pid] {
			sw.done[e] = true
		}
	}
	if upTo.IsZero() {
		for e := range sw.done {
			if e.Bucket.Equal(b) {
				delete(sw.done, e)
			}
		}
	}
	return nil
}

// expire releases every hold of product pid whose time has passed, and returns
// how many it released.
func (s *Service) expire(ctx context.Context, pid string) (int, error) {
	released := 0
	for {
		t, err := s.change(ctx, pid, "", func(*txn) error { return nil })
		if err != nil {
			return released, fmt.Errorf("inventory: expire holds of product %q: %w", pid, err)
		}
		released += t.expired
		if t.expired < maxExpirePerChange {
			return released, nil
		}
	}
}

// bucketOf returns the start of the index bucket that holds expiry time t.
func (s *Service) bucketOf(t time.Time) time.Time { return t.UTC().Truncate(s.cfg.Bucket) }

// loadCursor returns the sweeper's cursor, creating it Config.Lookback before now
// when there is none.
func (s *Service) loadCursor(ctx context.Context, now time.Time) (time.Time, error) {
	c, err := s.cursor.Get(ctx, cursorName)
	if err == nil {
		return c.Next.UTC(), nil
	}
	if !errors.Is(err, orm.ErrNotFound) {
		return time.Time{}, fmt.Errorf("inventory: read expiry cursor: %w", err)
	}
	start := s.bucketOf(now.Add(-s.cfg.Lookback))
	err = s.cursor.InsertIfNotExists(ctx, &expiryCursor{Name: cursorName, Next: start, UpdatedAt: now})
	switch {
	case err == nil:
		return start, nil
	case errors.Is(err, orm.ErrConflict), errors.Is(err, orm.ErrUncertain):
		// Another sweeper made it, or this one did: read what is there.
		c, err := s.cursor.Query().Where(orm.Eq("name", cursorName)).With(orm.WithConsistency(orm.Serial)).One(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("inventory: read expiry cursor: %w", err)
		}
		return c.Next.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("inventory: create expiry cursor: %w", err)
}

// advance moves the cursor from from to to, if it is not there or further
// already: it only moves forward. A cursor another sweeper moved further is left
// as it is, and so is one whose move had an unknown outcome: the next pass reads
// where it is.
func (s *Service) advance(ctx context.Context, from, to time.Time) error {
	err := s.cursor.PatchIf(ctx, []any{cursorName}, []orm.Predicate{orm.Lt("next_bucket", to)},
		[]orm.Change{orm.Set("next_bucket", to), orm.Set("updated_at", time.Now())})
	if err == nil || errors.Is(err, orm.ErrConflict) || errors.Is(err, orm.ErrUncertain) {
		return nil
	}
	return fmt.Errorf("inventory: move expiry cursor from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
}
