// Package order is the e-commerce platform's order service: it holds orders and runs
// order_processing, a durable saga (package saga) of the seed's six steps, each with
// its timeout: validate_inventory (30 s), reserve_inventory (15 s), process_payment
// (45 s), create_order (10 s), update_inventory (10 s), send_confirmation (5 s). A
// step that fails for good compensates the ones before it in reverse: the
// reservation is released, the charge refunded, the order cancelled.
//
// The inventory and payment services are participants reached over HTTP (their
// APIs are in packages inventory and payment); each call carries the step's
// idempotency key, so a retried or duplicated call has its effect once, and the
// tenant of the saga in the X-Tenant-ID header. send_confirmation asks the
// notification service (package notification) to deliver the confirmation when
// Config.NotificationURL is set, and otherwise records it in the notifications
// table.
//
// After the saga, Advance moves a confirmed order along the fulfilment
// statuses, processing, shipped and delivered, each a conditional write on the
// status before. With Config.Feed the orders model records its writes in a
// change feed (package changefeed), which the notification service's Watcher
// reads.
package order

import (
	"errors"
	"fmt"
	"time"
)

// Item is one line of an order.
type Item struct {
	ProductID  string `cql:"product_id" json:"product_id"`
	Quantity   int    `cql:"quantity" json:"quantity"`
	PriceCents int64  `cql:"price_cents" json:"price_cents"`
}

// UDTName names the item's user-defined type.
func (Item) UDTName() string { return "order_item" }

// Order is an order as the service keeps it, once create_order has run.
type Order struct {
	OrderID    string    `cql:"order_id" orm:"pk" json:"order_id"`
	UserID     string    `cql:"user_id" json:"user_id"`
	Items      []Item    `cql:"items" json:"items"`
	TotalCents int64     `cql:"total_cents" json:"total_cents"`
	Currency   string    `cql:"currency" json:"currency"`
	Status     string    `cql:"status" json:"status"` // placed, confirmed, cancelled, or a fulfilment status
	PaymentID  string    `cql:"payment_id" json:"payment_id"`
	CreatedAt  time.Time `cql:"created_at" json:"created_at"`
	UpdatedAt  time.Time `cql:"updated_at" json:"updated_at"`
}

// The statuses of an Order. The saga makes an order placed, then confirmed (or
// cancelled); Advance then moves a confirmed order along the fulfilment
// statuses, processing, shipped and delivered, in that order.
const (
	StatusPlaced     = "placed"
	StatusConfirmed  = "confirmed"
	StatusCancelled  = "cancelled"
	StatusProcessing = "processing"
	StatusShipped    = "shipped"
	StatusDelivered  = "delivered"
)

// Notification is a confirmation send_confirmation records in the service's own
// notifications table when the service has no NotificationURL; its id is the
// step's idempotency key, so it is recorded once.
type Notification struct {
	ID        string    `cql:"notification_id" orm:"pk" json:"notification_id"`
	OrderID   string    `cql:"order_id" json:"order_id"`
	UserID    string    `cql:"user_id" json:"user_id"`
	Kind      string    `cql:"kind" json:"kind"`
	Body      string    `cql:"body" json:"body"`
	CreatedAt time.Time `cql:"created_at" json:"created_at"`
}

// PlaceOrder is a request for a new order.
type PlaceOrder struct {
	OrderID  string `json:"order_id"`
	UserID   string `json:"user_id"`
	Items    []Item `json:"items"`
	Currency string `json:"currency"`
	// Card is the card to charge (the card network simulator's test numbers work).
	Card string `json:"card"`
}

// ErrInvalid is matched by the error of a request that fails validation; it is a
// *ValidationError.
var ErrInvalid = errors.New("order: invalid request")

// ValidationError lists what is wrong with a request, field by field.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("order: invalid request: %v", e.Fields) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Validate reports the fields of p that are missing or wrong.
func (p PlaceOrder) Validate() error {
	f := map[string]string{}
	check := func(field, value string, max int) {
		switch {
		case value == "":
			f[field] = "required"
		case len(value) > max:
			f[field] = fmt.Sprintf("at most %d bytes", max)
		}
	}
	check("order_id", p.OrderID, 100)
	check("user_id", p.UserID, 100)
	check("card", p.Card, 32)
	if len(p.Currency) != 3 {
		f["currency"] = "a three-letter ISO 4217 code"
	}
	switch {
	case len(p.Items) == 0:
		f["items"] = "at least one item"
	case len(p.Items) > 50:
		f["items"] = "at most 50 items"
	}
	seen := map[string]bool{}
	for i, it := range p.Items {
		k := fmt.Sprintf("items[%d]", i)
		switch {
		case it.ProductID == "" || len(it.ProductID) > 100:
			f[k+".product_id"] = "required, at most 100 bytes"
		case seen[it.ProductID]:
			f[k+".product_id"] = "appears twice"
		}
		seen[it.ProductID] = true
		if it.Quantity < 1 || it.Quantity > 1000 {
			f[k+".quantity"] = "1 to 1000"
		}
		if it.PriceCents < 0 || it.PriceCents > 100_000_000 {
			f[k+".price_cents"] = "0 to 100000000"
		}
	}
	if len(f) > 0 {
		return &ValidationError{Fields: f}
	}
	return nil
}

// total is the order's amount.
func (p PlaceOrder) total() int64 {
	var t int64
	for _, it := range p.Items {
		t += int64(it.Quantity) * it.PriceCents
	}
	return t
}
