package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Tiered is a Store of tiers in order, the fastest first (Memory, then
// Redis). Get asks each in turn and copies a hit in a lower tier into the
// ones above it with the time the entry has left; Set writes to every tier,
// the lowest first; Delete and Invalidate go to every tier, the highest
// first. It is safe for concurrent use.
type Tiered struct {
	tiers  []Store
	closer []func() error
}

// NewTiered returns the Store of tiers in order, the highest first.
func NewTiered(tiers ...Store) (*Tiered, error) {
	if len(tiers) == 0 {
		return nil, errors.New("cache: NewTiered: no tiers")
	}
	for i, s := range tiers {
		if s == nil {
			return nil, fmt.Errorf("cache: NewTiered: tier %d is nil", i)
		}
	}
	return &Tiered{tiers: tiers}, nil
}

// Name is "tiered".
func (t *Tiered) Name() string { return "tiered" }

// Tiers returns the tiers, the highest first.
func (t *Tiered) Tiers() []Store { return append([]Store(nil), t.tiers...) }

// Get returns the entry of the highest tier that has key, after copying it
// into the tiers above. If one of them refuses the copy, because it knows a
// newer version of key (an invalidation reached it that did not reach the
// lower tier), the tier counts a stale drop and Get reports a miss.
func (t *Tiered) Get(ctx context.Context, key string) (Entry, bool, error) {
	for i, s := range t.tiers {
		e, ok, err := s.Get(ctx, key)
		if err != nil {
			return Entry{}, false, err
		}
		if !ok {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			left := time.Until(e.Expires)
			if left <= 0 {
				return Entry{}, false, nil
			}
			stored, err := t.tiers[j].Set(ctx, key, e, left)
			if err != nil {
				return Entry{}, false, err
			}
			if !stored {
				return Entry{}, false, nil
			}
		}
		return e, true, nil
	}
	return Entry{}, false, nil
}

// Set writes e to every tier, the lowest first, and stops at the first that
// refuses it, returning false.
func (t *Tiered) Set(ctx context.Context, key string, e Entry, ttl time.Duration) (bool, error) {
	for i := len(t.tiers) - 1; i >= 0; i-- {
		stored, err := t.tiers[i].Set(ctx, key, e, ttl)
		if err != nil {
			return false, err
		}
		if !stored {
			return false, nil
		}
	}
	return true, nil
}

// Delete deletes the keys in every tier; the error joins the tiers' errors.
func (t *Tiered) Delete(ctx context.Context, keys ...string) error {
	var errs []error
	for _, s := range t.tiers {
		errs = append(errs, s.Delete(ctx, keys...))
	}
	return errors.Join(errs...)
}

// Invalidate invalidates key in every tier, the highest first; the error
// joins the tiers' errors (a tier that failed may still serve the old value).
func (t *Tiered) Invalidate(ctx context.Context, key string, version int64, floorTTL time.Duration) error {
	var errs []error
	for _, s := range t.tiers {
		errs = append(errs, s.Invalidate(ctx, key, version, floorTTL))
	}
	return errors.Join(errs...)
}

// Close closes the Redis clients that New made for the stack.
func (t *Tiered) Close() error {
	var errs []error
	for _, c := range t.closer {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}
