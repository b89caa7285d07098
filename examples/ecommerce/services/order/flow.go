package order

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

// Processing is the state of an order_processing saga.
type Processing struct {
	Order PlaceOrder `json:"order"`
	Total int64      `json:"total_cents"`
	// PaymentStatus is what the payment service answered.
	PaymentStatus string `json:"payment_status,omitempty"`
}

// StepTimeout is a step of order_processing and its seed timeout.
type StepTimeout struct {
	Name    string
	Timeout time.Duration
}

// Steps returns order_processing's steps in order, with the seed's timeouts
// (Config.Timeouts overrides them).
func Steps() []StepTimeout {
	return []StepTimeout{
		{"validate_inventory", 30 * time.Second},
		{"reserve_inventory", 15 * time.Second},
		{"process_payment", 45 * time.Second},
		{"create_order", 10 * time.Second},
		{"update_inventory", 10 * time.Second},
		{"send_confirmation", 5 * time.Second},
	}
}

type itemQty struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

func (p *Processing) items() []itemQty {
	out := make([]itemQty, len(p.Order.Items))
	for i, it := range p.Order.Items {
		out[i] = itemQty{it.ProductID, it.Quantity}
	}
	return out
}

func (p *Processing) productIDs() []string {
	out := make([]string, len(p.Order.Items))
	for i, it := range p.Order.Items {
		out[i] = it.ProductID
	}
	return out
}

// The participants name a reservation and a payment by the saga's branch of the
// step that makes them, "<order id>/<step>" (the order id is the saga's id), which
// the payment service's barrier and the inventory's reservation rows key their
// effects by.
func reservationID(orderID string) string { return orderID + "/reserve_inventory" }

// PaymentID is the payment service's id of order orderID's payment.
func PaymentID(orderID string) string { return orderID + "/process_payment" }

// definition is order_processing.
func (s *Service) definition() *saga.Definition[Processing] {
	calls := retry.Policy{MaxAttempts: 5, Backoff: retry.Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second}}
	undo := retry.Policy{MaxAttempts: 20, Backoff: retry.Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}}
	confirm := retry.Policy{MaxAttempts: 20, Backoff: retry.Backoff{Initial: 200 * time.Millisecond, Max: 10 * time.Second}}
	release := func(ctx context.Context, p *Processing) error {
		k, _ := saga.KeyFrom(ctx)
		return s.inventory.call(ctx, "DELETE", path("reservations", reservationID(p.Order.OrderID)), k.Step == "reserve_inventory", map[string]any{"product_ids": p.productIDs()}, nil)
	}
	return &saga.Definition[Processing]{Name: "order_processing", Timeout: s.cfg.SagaTimeout, Steps: []saga.Step[Processing]{
		{Name: "validate_inventory", Timeout: s.cfg.Timeouts["validate_inventory"], Retry: calls,
			Action: func(ctx context.Context, p *Processing) error {
				return s.inventory.call(ctx, "POST", "/inventory/check", false, map[string]any{"items": p.items()}, nil)
			}},
		{Name: "reserve_inventory", Timeout: s.cfg.Timeouts["reserve_inventory"], Retry: calls, CompensateRetry: undo,
			Action: func(ctx context.Context, p *Processing) error {
				return s.inventory.call(ctx, "PUT", path("reservations", reservationID(p.Order.OrderID)), true,
					map[string]any{"items": p.items(), "ttl_seconds": int(s.cfg.ReservationTTL / time.Second)}, nil)
			},
			Compensate: release},
		{Name: "process_payment", Timeout: s.cfg.Timeouts["process_payment"], Retry: calls, CompensateRetry: undo,
			Action: func(ctx context.Context, p *Processing) error {
				var res struct {
					Status string `json:"status"`
				}
				err := s.payments.call(ctx, "POST", path("payments", PaymentID(p.Order.OrderID), "charge"), true, map[string]any{
					"order_id": p.Order.OrderID, "amount_cents": p.Total, "currency": p.Order.Currency, "card": p.Order.Card}, &res)
				if StatusOf(err) == 402 {
					p.PaymentStatus = "declined"
				}
				if err == nil {
					p.PaymentStatus = res.Status
				}
				return err
			},
			Compensate: func(ctx context.Context, p *Processing) error {
				return s.payments.call(ctx, "POST", path("payments", PaymentID(p.Order.OrderID), "refund"), true, map[string]any{}, nil)
			}},
		{Name: "create_order", Timeout: s.cfg.Timeouts["create_order"], Retry: calls, CompensateRetry: undo,
			Action: func(ctx context.Context, p *Processing) error {
				now := time.Now().UTC().Truncate(time.Millisecond)
				err := s.Orders.InsertIfNotExists(ctx, &Order{OrderID: p.Order.OrderID, UserID: p.Order.UserID, Items: p.Order.Items,
					TotalCents: p.Total, Currency: p.Order.Currency, Status: StatusPlaced, PaymentID: PaymentID(p.Order.OrderID), CreatedAt: now, UpdatedAt: now})
				if errors.Is(err, orm.ErrConflict) {
					return nil // an earlier attempt created it
				}
				return err
			},
			Compensate: func(ctx context.Context, p *Processing) error {
				err := s.Orders.PatchIf(ctx, []any{p.Order.OrderID}, nil,
					[]orm.Change{orm.Set("status", StatusCancelled), orm.Set("updated_at", time.Now().UTC())})
				if errors.Is(err, orm.ErrConflict) {
					return nil // never created
				}
				return err
			}},
		{Name: "update_inventory", Timeout: s.cfg.Timeouts["update_inventory"], Retry: calls, CompensateRetry: undo,
			Action: func(ctx context.Context, p *Processing) error {
				return s.inventory.call(ctx, "POST", path("reservations", reservationID(p.Order.OrderID), "commit"), false, map[string]any{"product_ids": p.productIDs()}, nil)
			},
			Compensate: release},
		// The last step has no compensation (a message cannot be unsent): it
		// retries longer than the others rather than compensate an order whose
		// confirmation may have been recorded.
		{Name: "send_confirmation", Timeout: s.cfg.Timeouts["send_confirmation"], Retry: confirm,
			Action: func(ctx context.Context, p *Processing) error {
				if err := s.confirm(ctx, p); err != nil {
					return err
				}
				return s.Orders.Patch(ctx, []any{p.Order.OrderID}, []orm.Change{orm.Set("status", StatusConfirmed), orm.Set("updated_at", time.Now().UTC())})
			}},
	}}
}

// confirm asks the notification service to deliver order p's confirmation, or
// without one records it in the notifications table; either is idempotent by
// the step's key, the notification's id.
func (s *Service) confirm(ctx context.Context, p *Processing) error {
	k, _ := saga.KeyFrom(ctx)
	body := fmt.Sprintf("Your order %s of %s %.2f is confirmed.", p.Order.OrderID, p.Order.Currency, float64(p.Total)/100)
	if s.notifications.base != "" {
		return s.notifications.call(ctx, "POST", "/notifications", true, map[string]any{
			"id": k.String(), "user_id": p.Order.UserID, "kind": "order_confirmed",
			"subject": "Your order " + p.Order.OrderID + " is confirmed", "body": body,
			"data": map[string]string{"order_id": p.Order.OrderID, "total_cents": fmt.Sprint(p.Total), "currency": p.Order.Currency}}, nil)
	}
	n := Notification{ID: k.String(), OrderID: p.Order.OrderID, UserID: p.Order.UserID, Kind: "order_confirmed",
		Body: body, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.Notifications.InsertIfNotExists(ctx, &n); err != nil && !errors.Is(err, orm.ErrConflict) {
		return err
	}
	return nil
}
