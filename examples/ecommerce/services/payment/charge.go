package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
)

// Charge charges r for payment id, once: it runs through the barrier as the "do" of
// branch id, so a repeated delivery gets the stored payment, a concurrent one
// barrier.ErrInFlight, and one after the payment's refund (or a refund that came
// first) an error matching barrier.ErrCompensated.
//
// It returns the payment: approved (booked in the ledger), or declined (a definite
// outcome, nothing booked). Errors:
// a *ValidationError (ErrInvalid) for a malformed request, ErrConflict when id was
// used for another order, amount or currency, ErrNetworkUnavailable when the
// network's answer is unknown (the payment stays pending; call again with the same
// id), and the database's errors, after which a call again is safe too.
func (s *Service) Charge(ctx context.Context, id string, r ChargeRequest) (Payment, error) {
	if err := s.validate(id, r); err != nil {
		return Payment{}, err
	}
	var done Payment
	outcome, err := s.barrier.Do(ctx, id, func(ctx context.Context) error {
		p, err := s.charge(ctx, id, r)
		done = p
		return err
	})
	if err != nil {
		return Payment{}, fmt.Errorf("payment %q: charge: %w", id, err)
	}
	if outcome == barrier.Duplicate {
		p, err := s.Get(ctx, id)
		if err != nil {
			return Payment{}, fmt.Errorf("payment %q: the stored result of a finished charge: %w", id, err)
		}
		if !sameCharge(p, r) {
			return Payment{}, fmt.Errorf("%w: payment %q is for order %q, %d %s", ErrConflict, id, p.OrderID, p.AmountCents, p.Currency)
		}
		return p, nil
	}
	return done, nil
}

// charge is the barrier's fn of a charge. A run that did not finish is run again, so
// each step is idempotent: the pending row is rewritten, the network dedupes the call
// by its key, and the outcome's rows have keys derived from id.
func (s *Service) charge(ctx context.Context, id string, r ChargeRequest) (Payment, error) {
	at := now()
	p, err := s.payments.Get(ctx, id)
	switch {
	case errors.Is(err, orm.ErrNotFound):
		p = Payment{PaymentID: id, CreatedAt: at}
	case err != nil:
		return Payment{}, fmt.Errorf("payment %q: %w", id, err)
	case p.Status != StatusPending:
		// Recorded by a run whose end the barrier did not hear of.
		if !sameCharge(p, r) {
			return Payment{}, fmt.Errorf("%w: payment %q is for order %q, %d %s", ErrConflict, id, p.OrderID, p.AmountCents, p.Currency)
		}
		return p, nil
	}
	p.OrderID, p.AmountCents, p.Currency, p.CardLast4 = r.OrderID, r.AmountCents, r.Currency, r.Card[len(r.Card)-4:]
	p.Status, p.UpdatedAt = StatusPending, at
	if err := s.payments.Insert(ctx, &p); err != nil {
		return Payment{}, fmt.Errorf("payment %q: record pending: %w", id, err)
	}
	key := networkKey(ctx, id, barrier.Do)
	c, err := s.net.charge(ctx, key, r.AmountCents, r.Currency, r.Card)
	if err != nil {
		return Payment{}, s.networkFailure(ctx, id, err)
	}
	p.ChargeID, p.UpdatedAt = c.ChargeID, now()
	switch c.Status {
	case StatusApproved:
		p.Status = StatusApproved
		return p, s.record(ctx, p, KindCharge)
	case StatusDeclined:
		p.Status, p.DeclineCode = StatusDeclined, c.DeclineCode
		return p, s.record(ctx, p)
	}
	return Payment{}, fmt.Errorf("%w: payment %q: charge %q has status %q", ErrNetwork, id, c.ChargeID, c.Status)
}

// Refund compensates payment id's charge, once: it runs through the barrier as the
// "undo" of branch id. An approved charge is refunded at the network and the
// reverse entries booked (status refunded); a declined one, or one never charged,
// needs no refund (status voided), and a charge arriving after that is refused with
// barrier.ErrCompensated. A repeated delivery gets the stored payment, a concurrent
// one barrier.ErrInFlight. A charge whose outcome was never recorded (its call to
// the network timed out) is looked up at the network by its idempotency key, and
// refunded if it was made. Errors are as for Charge; after any of them a call again
// with the same id is safe.
func (s *Service) Refund(ctx context.Context, id string) (Payment, error) {
	if msg := checkID(id); msg != "" {
		return Payment{}, &ValidationError{Fields: map[string]string{"payment_id": msg}}
	}
	var done Payment
	outcome, err := s.barrier.Undo(ctx, id, func(ctx context.Context) error {
		p, err := s.refund(ctx, id)
		done = p
		return err
	})
	if err != nil {
		return Payment{}, fmt.Errorf("payment %q: refund: %w", id, err)
	}
	switch outcome {
	case barrier.Duplicate, barrier.NullCompensation:
		return s.voidIfUnseen(ctx, id)
	}
	return done, nil
}

// refund is the barrier's fn of a refund; like charge, every step is idempotent.
func (s *Service) refund(ctx context.Context, id string) (Payment, error) {
	at := now()
	p, err := s.payments.Get(ctx, id)
	switch {
	case errors.Is(err, orm.ErrNotFound):
		// The charge's run may have reached the network before writing anything.
		p = Payment{PaymentID: id, Status: StatusPending, CreatedAt: at}
	case err != nil:
		return Payment{}, fmt.Errorf("payment %q: %w", id, err)
	}
	kinds := []string{KindRefund}
	switch p.Status {
	case StatusRefunded, StatusVoided:
		return p, nil // recorded by a run whose end the barrier did not hear of
	case StatusDeclined:
		p.Status, p.UpdatedAt = StatusVoided, at
		return p, s.record(ctx, p)
	case StatusPending:
		// The charge's outcome was never recorded: the network knows it.
		c, found, err := s.net.lookup(ctx, networkKey(ctx, id, barrier.Do))
		if err != nil {
			return Payment{}, s.networkFailure(ctx, id, err)
		}
		if !found || c.Status != StatusApproved {
			p.Status, p.ChargeID, p.DeclineCode, p.UpdatedAt = StatusVoided, c.ChargeID, c.DeclineCode, at
			return p, s.record(ctx, p)
		}
		p.ChargeID, p.AmountCents, p.Currency, p.CardLast4 = c.ChargeID, c.AmountCents, c.Currency, c.CardLast4
		kinds = []string{KindCharge, KindRefund} // book the charge the network made, and its refund
	}
	rf, err := s.net.refund(ctx, networkKey(ctx, id, barrier.Undo), p.ChargeID, p.AmountCents)
	if err != nil {
		return Payment{}, s.networkFailure(ctx, id, err)
	}
	p.Status, p.RefundID, p.UpdatedAt = StatusRefunded, rf.RefundID, now()
	return p, s.record(ctx, p, kinds...)
}

// voidIfUnseen returns payment id's row, writing a voided one if there is none: the
// compensation of a charge that never ran.
func (s *Service) voidIfUnseen(ctx context.Context, id string) (Payment, error) {
	p, err := s.payments.Get(ctx, id)
	if !errors.Is(err, orm.ErrNotFound) {
		if err != nil {
			return Payment{}, fmt.Errorf("payment %q: %w", id, err)
		}
		return p, nil
	}
	at := now()
	p = Payment{PaymentID: id, Status: StatusVoided, CreatedAt: at, UpdatedAt: at}
	if err := s.payments.Insert(ctx, &p); err != nil {
		return Payment{}, fmt.Errorf("payment %q: record voided: %w", id, err)
	}
	return p, nil
}

// networkFailure turns a failed call to the network into the service's error.
func (s *Service) networkFailure(ctx context.Context, id string, err error) error {
	ne, ok := errors.AsType[*NetworkError](err)
	switch {
	case errors.Is(err, ErrNetworkUnavailable):
		s.cfg.Log.WarnContext(ctx, "card network unavailable: the outcome is unknown until the call is repeated", "payment_id", id, "err", err)
		return fmt.Errorf("payment %q: %w", id, err)
	case ok && ne.Status == http.StatusConflict:
		return fmt.Errorf("%w: payment %q: %w", ErrConflict, id, err)
	case ok && ne.Status == http.StatusBadRequest && len(ne.Fields) > 0:
		return &ValidationError{Fields: ne.Fields}
	case ok:
		return fmt.Errorf("%w: payment %q: %w", ErrNetwork, id, err)
	}
	return fmt.Errorf("payment %q: %w", id, err)
}

// sameCharge reports whether stored payment p is the charge r asks for.
func sameCharge(p Payment, r ChargeRequest) bool {
	return p.OrderID == r.OrderID && p.AmountCents == r.AmountCents && p.Currency == r.Currency
}

// now is the time of a write, at the millisecond a timestamp column keeps, so that a
// payment answered from its run and the same payment read back are equal.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
