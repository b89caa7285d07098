package migrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// lockRow is the one row of the lock table. It lives for a lease (USING TTL) unless
// its owner renews it, so a crashed process cannot hold the lock for long.
type lockRow struct {
	Name       string    `cql:"name" orm:"pk"`
	Owner      string    `cql:"owner"`
	AcquiredAt time.Time `cql:"acquired_at"`
	RenewedAt  time.Time `cql:"renewed_at"`
}

// lockName is the lock table's key: one lock per migrations table.
const lockName = "migrate"

// lease is a held migration lock.
type lease struct {
	m     *Migrator
	owner string
	since time.Time

	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost error // set when renewal failed for good
}

// newOwner returns a lock owner id unique to one acquisition: host and pid for people
// reading the lock table, and random bytes so two runs in one process differ.
func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// maxLockErrors is how many failed attempts in a row (timeouts, not conflicts) acquire
// tolerates. A lightweight transaction that times out may or may not have applied; the
// next attempt finds out, since a row with our own owner means we hold the lock.
const maxLockErrors = 5

// acquire takes the migration lock, waiting with backoff while another process holds
// it, until ctx ends.
func (m *Migrator) acquire(ctx context.Context) (*lease, error) {
	owner := newOwner()
	backoff := 100 * time.Millisecond
	var lastHolder string
	errs := 0
	for {
		now := time.Now().UTC().Truncate(time.Millisecond)
		row := lockRow{Name: lockName, Owner: owner, AcquiredAt: now, RenewedAt: now}
		err := m.locks.InsertIfNotExists(ctx, &row, orm.WithTTL(m.lockTTL()))
		var ce *orm.ConflictError
		switch {
		case err == nil:
			return m.startLease(owner, now), nil
		case errors.As(err, &ce):
			errs = 0
			cur, _ := ce.Current.(*lockRow)
			if cur != nil && cur.Owner == owner {
				// An earlier attempt that timed out had in fact applied.
				return m.startLease(owner, cur.AcquiredAt), nil
			}
			if cur != nil && cur.Owner != lastHolder {
				lastHolder = cur.Owner
				m.emit(Event{Kind: EventWaiting, Holder: cur.Owner, HeldSince: cur.AcquiredAt})
			}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("migrate: acquiring the migration lock: %w", ctx.Err())
		default:
			if errs++; errs >= maxLockErrors {
				return nil, fmt.Errorf("migrate: acquiring the migration lock: %w", err)
			}
		}
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*mrand.Float64()))
		select {
		case <-ctx.Done():
			if lastHolder != "" {
				return nil, fmt.Errorf("migrate: waiting for the migration lock held by %s: %w", lastHolder, ctx.Err())
			}
			return nil, fmt.Errorf("migrate: acquiring the migration lock: %w", ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (m *Migrator) startLease(owner string, since time.Time) *lease {
	return &lease{m: m, owner: owner, since: since, stop: make(chan struct{}), done: make(chan struct{})}
}

// keepAlive renews the lease every third of its length until release. If the row
// changed owner, or no renewal succeeded for two thirds of the lease, it calls cancel
// with ErrLockLost so the run stops before another process can take over.
func (l *lease) keepAlive(cancel context.CancelCauseFunc) {
	go func() {
		defer close(l.done)
		period := l.m.opts.LockLease / 3
		t := time.NewTicker(period)
		defer t.Stop()
		lastOK := time.Now()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			err := l.renew(period)
			var ce *orm.ConflictError
			switch {
			case err == nil:
				lastOK = time.Now()
				continue
			case errors.As(err, &ce):
				holder := "nobody"
				if cur, ok := ce.Current.(*lockRow); ok && cur != nil {
					holder = cur.Owner
				}
				err = fmt.Errorf("%w: it is now held by %s", ErrLockLost, holder)
			case time.Since(lastOK) < 2*period:
				continue // try again on the next tick: the lease has time left
			default:
				err = fmt.Errorf("%w: not renewed for %s: %w", ErrLockLost, time.Since(lastOK).Round(time.Millisecond), err)
			}
			l.mu.Lock()
			l.lost = err
			l.mu.Unlock()
			cancel(err)
			return
		}
	}()
}

// renew extends the lease if we still own it (UPDATE ... USING TTL ... IF owner = ?).
// Setting every column renews every cell's TTL, so the row lives on as a whole.
func (l *lease) renew(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.m.locks.PatchIf(ctx, []any{lockName}, []orm.Predicate{orm.Eq("owner", l.owner)},
		[]orm.Change{orm.Set("owner", l.owner), orm.Set("acquired_at", l.since), orm.Set("renewed_at", time.Now().UTC())},
		orm.WithTTL(l.m.lockTTL()))
}

// lockTTL is the TTL of the lock row's cells. Cassandra counts a TTL from the start of
// the current second, so a TTL of n seconds lasts between n-1 and n seconds: one more
// second makes the lease last at least LockLease.
func (m *Migrator) lockTTL() time.Duration { return m.opts.LockLease + time.Second }

// release stops the renewals and deletes the lock row if we still own it
// (DELETE ... IF owner = ?). It runs even when ctx is done, within its own timeout; if
// it fails the row still expires at the end of the lease.
func (l *lease) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for range 3 {
		err = l.m.locks.DeleteIf(ctx, []any{lockName}, orm.Eq("owner", l.owner))
		if err == nil || errors.Is(err, orm.ErrConflict) {
			// A conflict here means the row is gone or has another owner: not ours to delete.
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("migrate: releasing the migration lock (it expires within %s): %w", l.m.lockTTL(), err)
}
