package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// fulfilment is the order of the statuses Advance moves an order along: each
// status may only follow the one before it.
var fulfilment = []string{StatusConfirmed, StatusProcessing, StatusShipped, StatusDelivered}

// ErrTransition is matched by the error of an Advance the order's status does
// not allow: backwards, a skip, or an order that is not confirmed yet (or was
// cancelled). It is a *TransitionError.
var ErrTransition = errors.New("order: status transition refused")

// TransitionError is a refused Advance: the order, its status and the status
// asked for.
type TransitionError struct {
	// OrderID is the order concerned.
	OrderID string
	// Current is its status, as the refused write found it.
	Current string
	// Proposed is the status Advance was asked for.
	Proposed string
}

// Error names the order, its status and the status refused.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("order: order %s is %s: cannot advance it to %s", e.OrderID, e.Current, e.Proposed)
}

// Is makes errors.Is(err, ErrTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }

// previous returns the status an order must have to advance to status, or false
// for a status Advance does not move to.
func previous(status string) (string, bool) {
	i := slices.Index(fulfilment, status)
	if i < 1 {
		return "", false
	}
	return fulfilment[i-1], true
}

// Advance moves order orderID to status, one of the fulfilment statuses
// (processing, shipped, delivered), from the status before it: one
// conditional write, UPDATE ... IF status = <the one before>, so that of
// concurrent advances exactly one applies (and, with Config.Feed, is recorded
// as one change). It returns the order as it is afterwards.
//
// An advance to the status the order already has is a no-op, not an error: a
// repeated call, or the loser of a concurrent one, returns the order unchanged
// and writes nothing. Any other status (backwards, a skip, an order not
// confirmed or cancelled) is refused with a *TransitionError (ErrTransition);
// an unknown order with an error matching orm.ErrNotFound; a status that is no
// fulfilment status with ErrInvalid. A write whose outcome was lost is settled
// by reading the order at SERIAL consistency, and made again (conditioned as
// before) when it did not apply; when the read fails, or no attempt's outcome
// was learnt, the error matches orm.ErrUncertain.
func (s *Service) Advance(ctx context.Context, orderID, status string) (Order, error) {
	prev, ok := previous(status)
	if orderID == "" || !ok {
		f := map[string]string{}
		if orderID == "" {
			f["order_id"] = "required"
		}
		if !ok {
			f["status"] = fmt.Sprintf("one of %s, %s, %s", StatusProcessing, StatusShipped, StatusDelivered)
		}
		return Order{}, &ValidationError{Fields: f}
	}
	// A write whose outcome was lost is read back at SERIAL consistency, which
	// completes it if it was in flight: found not applied, it is made again,
	// conditioned as before, so it cannot apply twice.
	for attempt := 1; ; attempt++ {
		err := s.Orders.PatchIf(ctx, []any{orderID}, []orm.Predicate{orm.Eq("status", prev)},
			[]orm.Change{orm.Set("status", status), orm.Set("updated_at", time.Now().UTC().Truncate(time.Millisecond))})
		var cur Order
		switch ce, conflict := errors.AsType[*orm.ConflictError](err); {
		case err == nil:
			return s.getOrder(ctx, orderID, false)
		case conflict:
			c, _ := ce.Current.(*Order)
			if c == nil {
				return Order{}, fmt.Errorf("order %s: advance to %s: %w", orderID, status, orm.ErrNotFound)
			}
			cur = *c
		case errors.Is(err, orm.ErrUncertain):
			o, rerr := s.getOrder(ctx, orderID, true)
			if rerr != nil {
				return Order{}, fmt.Errorf("order %s: advance to %s: %w (reading it back: %w)", orderID, status, err, rerr)
			}
			if o.Status == prev && attempt < maxAdvanceAttempts {
				continue
			}
			cur = o
		default:
			return Order{}, fmt.Errorf("order %s: advance to %s: %w", orderID, status, err)
		}
		if cur.Status == status {
			return cur, nil
		}
		if cur.Status == prev { // still not applied after every attempt
			return cur, fmt.Errorf("order %s: advance to %s: %d writes of unknown outcome, none applied: %w", orderID, status, attempt, orm.ErrUncertain)
		}
		return cur, &TransitionError{OrderID: orderID, Current: cur.Status, Proposed: status}
	}
}

// maxAdvanceAttempts bounds the writes of one Advance whose outcomes are lost.
const maxAdvanceAttempts = 3

// getOrder reads order id, at SERIAL consistency when serial is set.
func (s *Service) getOrder(ctx context.Context, id string, serial bool) (Order, error) {
	q := s.Orders.Query()
	if serial {
		q = q.With(orm.WithConsistency(orm.Serial))
	}
	o, err := q.Where(orm.Eq("order_id", id)).One(ctx)
	if err != nil {
		return Order{}, fmt.Errorf("order %s: %w", id, err)
	}
	return o, nil
}
