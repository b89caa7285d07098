package migrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// lockName is the lease's name in the lock table: one lock per migrations table.
const lockName = "migrate"

// newOwner returns a lock owner id unique to one run: host and pid for people reading
// the lock table, and random bytes so that two runs in one process differ (a lease
// row with a Manager's own owner counts as held by that Manager already).
func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// leases returns a lease Manager on the lock table for owner. While waiting it polls
// every fifth of the lease, and at least every 2s, so waiting processes start soon
// after the holder is done.
func (m *Migrator) leases(owner string, waiting func(*lease.HeldError)) (*lease.Manager, error) {
	return lease.New(m.db, lease.Config{Table: m.opts.LockTable, Scope: orm.KeyspaceScope, TTL: m.opts.LockLease, Owner: owner,
		Poll: min(m.opts.LockLease/5, 2*time.Second), Waiting: waiting})
}

// acquire takes the migration lock, waiting while another process holds it, until ctx
// ends. Progress hears of each holder it waits for.
func (m *Migrator) acquire(ctx context.Context) (*lease.Held, error) {
	var holder string
	leases, err := m.leases(newOwner(), func(he *lease.HeldError) {
		holder = he.Owner
		m.emit(Event{Kind: EventWaiting, Holder: he.Owner, HeldSince: he.Since})
	})
	if err != nil {
		return nil, err
	}
	h, err := leases.Acquire(ctx, lockName)
	switch {
	case err == nil:
		return h, nil
	case ctx.Err() != nil && holder != "":
		return nil, fmt.Errorf("migrate: waiting for the migration lock held by %s: %w", holder, ctx.Err())
	}
	return nil, fmt.Errorf("migrate: acquiring the migration lock: %w", err)
}

// watch cancels ctx with ErrLockLost if h is lost before ctx ends.
func watch(ctx context.Context, cancel context.CancelCauseFunc, h *lease.Held) {
	go func() {
		select {
		case <-h.Lost():
		case <-ctx.Done():
			return
		}
		var he *lease.HeldError
		if err := h.Err(); errors.As(err, &he) {
			cancel(fmt.Errorf("%w: it is now held by %s", ErrLockLost, he.Owner))
		} else {
			cancel(fmt.Errorf("%w: %w", ErrLockLost, err))
		}
	}()
}

// release gives the lock up (its lease stops renewing and its row is deleted if still
// ours). It runs even when ctx is done, within its own timeout; if it fails the row
// still expires at the end of the lease.
func (m *Migrator) release(ctx context.Context, h *lease.Held) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := h.Release(ctx); err != nil {
		return fmt.Errorf("migrate: releasing the migration lock (it expires within %s): %w", m.opts.LockLease+time.Second, err)
	}
	return nil
}
