package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// SetReorder sets product productID's reorder policy, as one change to its
// stock (guarded by the version like every other). It fails with
// ErrUnknownProduct when the product has no stock, and with ErrInvalid for a
// threshold out of 0 to MaxOnHand or a quantity out of 0 to MaxQuantity (at
// least 1 with AutoReorder). It does not reorder by itself: Reorder does, when
// called (the notification service's Watcher calls it on a low-stock change).
func (s *Service) SetReorder(ctx context.Context, productID string, p ReorderPolicy) (Level, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if p.Threshold < 0 || p.Threshold > MaxOnHand {
		f.add("reorder_threshold", fmt.Sprintf("must be from 0 to %d", MaxOnHand))
	}
	if p.Quantity < 0 || p.Quantity > MaxQuantity || (p.AutoReorder && p.Quantity == 0) {
		f.add("reorder_quantity", fmt.Sprintf("must be from 1 to %d with auto_reorder, from 0 without", MaxQuantity))
	}
	if err := f.err(); err != nil {
		return Level{}, err
	}
	t, err := s.change(ctx, productID, "", func(t *txn) error {
		if !t.exists {
			return t.refuse(ErrUnknownProduct)
		}
		t.policy, t.setPolicy, t.stock = p, true, true
		return nil
	})
	if err != nil {
		return Level{}, err
	}
	return t.level(), nil
}

// Reorder opens a purchase order of the policy's quantity for product
// productID when its policy has AutoReorder and its available units are at or
// below the threshold, unless the product has an open purchase order already.
// It returns the product's open purchase order (the zero PurchaseOrder when
// there is none and none is due) and whether this call opened it.
//
// Of any number of concurrent calls, in any number of processes, exactly one
// opens a purchase order until it is received: the product's static column
// open_purchase_order is set IF it is null, in the conditional batch guarded by
// the stock's version. A batch whose outcome was lost is settled as every
// change of the service is: the next attempt reads at SERIAL consistency and
// finds the call's own purchase order id there (the call opened it) or not,
// and a call whose attempts all ended unknown fails with an error matching
// orm.ErrUncertain, never opening a second order: the next call finds the
// first. The purchase order's row is written after the batch, IF NOT EXISTS;
// a call that finds the column set and the row missing (its writer died in
// between) writes it.
func (s *Service) Reorder(ctx context.Context, productID string) (PurchaseOrder, bool, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if err := f.err(); err != nil {
		return PurchaseOrder{}, false, err
	}
	id := orm.NewTimeUUID().String()
	t, err := s.change(ctx, productID, "", func(t *txn) error {
		switch {
		case !t.exists:
			return t.refuse(ErrUnknownProduct)
		case t.openPO != "": // another's, or this call's own from an attempt whose answer was lost
			return nil
		case !t.policy.AutoReorder || t.available > int64(t.policy.Threshold):
			return nil
		}
		t.reorder, t.openPO, t.stock = id, id, true
		return nil
	})
	if err != nil {
		return PurchaseOrder{}, false, err
	}
	if t.openPO == "" {
		return PurchaseOrder{}, false, nil
	}
	po, err := s.openRow(ctx, t)
	return po, t.openPO == id, err
}

// openRow returns the row of the purchase order t shows open, writing it IF NOT
// EXISTS when it is missing.
func (s *Service) openRow(ctx context.Context, t *txn) (PurchaseOrder, error) {
	po := PurchaseOrder{ID: t.openPO, ProductID: t.pid, Quantity: int32(t.policy.Quantity), State: POOpen, CreatedAt: t.now}
	if u, err := orm.ParseUUID(po.ID); err == nil && u.Version() == 1 {
		po.CreatedAt = u.Time().UTC().Truncate(time.Millisecond)
	}
	err := retry.Do(ctx, s.policy, func(ctx context.Context, _ int) error {
		cur, err := s.orders.Get(ctx, po.ProductID, po.ID)
		if err == nil {
			po = cur
			return nil
		}
		if !errors.Is(err, orm.ErrNotFound) {
			return err
		}
		err = s.orders.InsertIfNotExists(ctx, &po)
		if ce, ok := errors.AsType[*orm.ConflictError](err); ok {
			if c, _ := ce.Current.(*PurchaseOrder); c != nil {
				po = *c
				return nil
			}
			return fmt.Errorf("%w: %w", ErrContended, err) // read it again
		}
		return err
	})
	if err != nil {
		return PurchaseOrder{}, fmt.Errorf("inventory: purchase order %q of product %q: %w", po.ID, po.ProductID, err)
	}
	return po, nil
}

// PurchaseOrder returns purchase order id of product productID, or an error
// matching orm.ErrNotFound.
func (s *Service) PurchaseOrder(ctx context.Context, productID, id string) (PurchaseOrder, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	checkID(f, "purchase_order_id", id)
	if err := f.err(); err != nil {
		return PurchaseOrder{}, err
	}
	po, err := s.orders.Get(ctx, productID, id)
	if err != nil {
		return PurchaseOrder{}, fmt.Errorf("inventory: purchase order %q of product %q: %w", id, productID, err)
	}
	return po, nil
}

// PurchaseOrders returns product productID's purchase orders, open and
// received, in id order (a partition read).
func (s *Service) PurchaseOrders(ctx context.Context, productID string) ([]PurchaseOrder, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if err := f.err(); err != nil {
		return nil, err
	}
	out := []PurchaseOrder{}
	for po, err := range s.orders.Query().Where(orm.Eq("product_id", productID)).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("inventory: purchase orders of product %q: %w", productID, err)
		}
		out = append(out, po)
	}
	return out, nil
}

// Receive records purchase order id of product productID as received: its units are added to the
// product's stock (on hand and available) and the product's open purchase
// order is cleared, in one batch guarded by the version, so the next low-stock
// Reorder opens a new one. It is idempotent: a purchase order received already
// is returned as it is, and the units are added once (a purchase order leaves
// open_purchase_order only by its receipt, so a receipt finds there whether it
// was made). It fails with an error matching orm.ErrNotFound for an unknown
// purchase order.
func (s *Service) Receive(ctx context.Context, productID, id string) (PurchaseOrder, error) {
	po, err := s.PurchaseOrder(ctx, productID, id)
	if err != nil || po.State == POReceived {
		return po, err
	}
	_, err = s.change(ctx, po.ProductID, "", func(t *txn) error {
		switch {
		case t.openPO != id: // received by an earlier call whose end was lost
			return nil
		case t.onHand+int64(po.Quantity) > MaxOnHand:
			return &ValidationError{Fields: map[string]string{"quantity": fmt.Sprintf("on hand would exceed %d", MaxOnHand)}}
		}
		t.onHand, t.available = t.onHand+int64(po.Quantity), t.available+int64(po.Quantity)
		t.openPO, t.clearPO, t.stock = "", true, true
		return nil
	})
	if err != nil {
		return PurchaseOrder{}, fmt.Errorf("inventory: receive purchase order %q of product %q: %w", id, productID, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	err = retry.Do(ctx, s.policy, func(ctx context.Context, _ int) error {
		err := s.orders.PatchIf(ctx, []any{productID, id}, []orm.Predicate{orm.Eq("state", POOpen)},
			[]orm.Change{orm.Set("state", POReceived), orm.Set("received_at", now)})
		if errors.Is(err, orm.ErrConflict) {
			return nil // received by another call
		}
		return err
	})
	if err != nil {
		return PurchaseOrder{}, fmt.Errorf("inventory: receive purchase order %q of product %q: %w", id, productID, err)
	}
	return s.PurchaseOrder(ctx, productID, id)
}
