package notification

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// maxErrorLen bounds the error a delivery records.
const maxErrorLen = 1000

// giveBackTimeout bounds the write that gives a claim back after the worker's
// context ended.
const giveBackTimeout = 5 * time.Second

// Run makes the process one of the service's delivery workers, for every tenant,
// until ctx ends; then it returns nil. Every Poll it reads the due index over
// the last Lookback and makes each delivery that is due and not claimed, one
// after the other: it claims the delivery (a lightweight transaction on its
// claim token), sends it on its channel under Timeout, and records the outcome
// under the same claim: sent; pending again after a Backoff while attempts are
// left; dead with the last error after MaxAttempts, or at once on an error
// matching ErrPermanent. A worker whose ctx ends mid-delivery gives its claim
// back; one that dies keeps it until Lease has passed. Several processes may
// run workers: no two send one delivery at the same time.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.poll(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("notification: reading the due index", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll makes the due deliveries of the window.
func (s *Service) poll(ctx context.Context) error {
	now := time.Now().UnixMilli()
	from := now - s.cfg.Lookback.Milliseconds()
	for b := s.bucketOf(from); b <= s.bucketOf(now); b++ {
		q := s.due.Query().Where(orm.Eq("bucket", b), orm.Gte("due_ms", from), orm.Lte("due_ms", now))
		for row, err := range q.All(ctx) {
			if err != nil {
				return fmt.Errorf("notification: due index bucket %d: %w", b, err)
			}
			if err := s.attempt(ctx, row); err != nil && ctx.Err() == nil {
				s.cfg.Log.Warn("notification: delivery", "tenant", row.Tenant, "notification", row.NotificationID, "channel", row.Channel, "err", err)
			}
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	return nil
}

// attempt makes the delivery of row if it is due and nobody holds it.
func (s *Service) attempt(ctx context.Context, row dueRow) error {
	if row.Tenant != "" {
		ctx = tenant.With(ctx, row.Tenant)
	}
	keys := []any{row.NotificationID, row.Channel}
	d, err := s.deliveries.Get(ctx, keys...)
	switch {
	case errors.Is(err, orm.ErrNotFound):
		return s.unfile(ctx, row) // the delivery is made before its due row: the tenant's data is gone
	case err != nil:
		return err
	case d.State != StatePending || d.DueMS != row.DueMS:
		return s.unfile(ctx, row) // done, or filed again at another time
	}
	start := time.Now()
	if d.ClaimUntilMS > start.UnixMilli() {
		return nil // another worker holds it
	}
	token := orm.NewUUID().String()
	err = s.deliveries.PatchIf(ctx, keys,
		[]orm.Predicate{orm.Eq("state", StatePending), orm.Eq("claim_token", d.ClaimToken), orm.Eq("due_ms", d.DueMS)},
		[]orm.Change{orm.Set("claim_token", token), orm.Set("claim_until_ms", start.Add(s.cfg.Lease).UnixMilli())})
	switch {
	case errors.Is(err, orm.ErrConflict):
		return nil // another worker claimed it first
	case err != nil:
		return fmt.Errorf("claiming: %w", err) // maybe ours after all: it expires after Lease
	}
	derr := s.send(ctx, d)
	if ctx.Err() != nil {
		// Stopping: the attempt does not count, the claim is given back. The
		// channel may have accepted it: it is sent again (at least once).
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
		defer cancel()
		return s.settle(gctx, keys, token, orm.Set("claim_until_ms", int64(0)))
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	attempts := d.Attempts + 1
	switch {
	case derr == nil:
		err = s.settle(ctx, keys, token, orm.Set("state", StateSent), orm.Set("sent_at", now), orm.Set("attempts", attempts),
			orm.Set("last_error", ""), orm.Set("claim_until_ms", int64(0)))
	case errors.Is(derr, ErrPermanent) || attempts >= s.cfg.MaxAttempts:
		err = s.settle(ctx, keys, token, orm.Set("state", StateDead), orm.Set("attempts", attempts),
			orm.Set("last_error", errorText(derr)), orm.Set("claim_until_ms", int64(0)))
	default:
		next := d
		next.NextAttemptAt = now.Add(s.cfg.Backoff.Delay(attempts - 1))
		next.DueMS = next.NextAttemptAt.UnixMilli()
		if err := s.file(ctx, row.Tenant, next); err != nil {
			return errors.Join(derr, err) // the claim expires; the old due row stays
		}
		err = s.settle(ctx, keys, token, orm.Set("attempts", attempts), orm.Set("last_error", errorText(derr)),
			orm.Set("next_attempt_at", next.NextAttemptAt), orm.Set("due_ms", next.DueMS), orm.Set("claim_until_ms", int64(0)))
	}
	if err != nil {
		return errors.Join(derr, err)
	}
	if derr != nil {
		s.cfg.Log.Warn("notification: attempt failed", "notification", d.NotificationID, "channel", d.Channel, "attempt", attempts, "err", derr)
	}
	return s.unfile(ctx, row)
}

// send delivers d on its channel under Timeout.
func (s *Service) send(ctx context.Context, d Delivery) error {
	ch, ok := s.channels[d.Channel]
	if !ok {
		return Permanent(fmt.Errorf("notification: no channel %q configured", d.Channel))
	}
	n, err := s.notes.Get(ctx, d.NotificationID)
	if err != nil {
		return fmt.Errorf("notification %q: %w", d.NotificationID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := ch.Deliver(ctx, n, d.Target); err != nil {
		return fmt.Errorf("%s to %s: %w", d.Channel, d.Target, err)
	}
	return nil
}

// settle applies changes to a delivery if the claim token is still token.
func (s *Service) settle(ctx context.Context, keys []any, token string, changes ...orm.Change) error {
	err := s.deliveries.PatchIf(ctx, keys, []orm.Predicate{orm.Eq("claim_token", token)}, changes)
	if err != nil {
		return fmt.Errorf("recording the outcome of notification %q on %s: %w", keys[0], keys[1], err)
	}
	return nil
}

// unfile deletes row from the due index.
func (s *Service) unfile(ctx context.Context, row dueRow) error {
	if err := s.due.Delete(ctx, row.Bucket, row.DueMS, row.Tenant, row.NotificationID, row.Channel); err != nil {
		return fmt.Errorf("notification %q: due index, %s: %w", row.NotificationID, row.Channel, err)
	}
	return nil
}

func errorText(err error) string {
	msg := err.Error()
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "")
	}
	return msg
}

// tenantOf is ctx's tenant, or "" without one (on a plain DB).
func tenantOf(ctx context.Context) string {
	id, err := tenant.From(ctx)
	if err != nil {
		return ""
	}
	return id
}
