package inventory

import (
	"time"
)

// State is where a reservation stands in one product.
type State string

// States of a reservation row. Held is the only one that keeps units aside; the
// others are final but for committed, which a compensation (Release) turns into
// released.
const (
	// StateHeld: the units are set aside for the reservation until it is committed,
	// released or expires.
	StateHeld State = "held"
	// StateCommitted: the units were sold: on hand went down by the quantity.
	StateCommitted State = "committed"
	// StateReleased: the reservation was given back (or its sale undone); its units
	// are available again.
	StateReleased State = "released"
	// StateCancelled: a release arrived before its reservation; the row (quantity 0)
	// is there so that the late reservation is refused with ErrCompensated.
	StateCancelled State = "cancelled"
	// StateExpired: the reservation was not committed before its expiry, and its
	// units were given back.
	StateExpired State = "expired"
)

// Stock is the row of the stock table: one partition per product, holding the
// product's stock in static columns and one row per reservation made on it. Every
// change to a partition is one conditional batch guarded by Version, so the static
// columns and the rows always agree: Available is OnHand minus the quantities in
// Holds, and Holds names exactly the rows in state held.
//
// The static fields are pointers (and Holds a map) so that a write of a
// reservation row leaves them alone. Change the table only through the Service.
type Stock struct {
	// ProductID is the partition key.
	ProductID string `cql:"product_id" orm:"pk"`
	// ReservationID is the clustering key; empty in a row read from a partition
	// that holds no reservation yet.
	ReservationID string `cql:"reservation_id" orm:"ck"`

	// OnHand is the number of units physically in stock.
	OnHand *int32 `cql:"on_hand" orm:"static"`
	// Available is OnHand minus the units held by reservations.
	Available *int32 `cql:"available" orm:"static"`
	// Version is bumped by every change to the stock: the condition of every batch.
	Version *int64 `cql:"version" orm:"static"`
	// Holds are the reservations in state held, by reservation id: the working set
	// that expiry and the held total are computed from without reading the rows.
	Holds map[string]Hold `cql:"holds" orm:"static"`
	// LastChange is the id of the last Restock applied, so that one whose outcome
	// was unknown can be recognised.
	LastChange *string `cql:"last_change" orm:"static"`
	// UpdatedAt is when the stock last changed.
	UpdatedAt *time.Time `cql:"updated_at" orm:"static"`
	// AutoReorder, ReorderThreshold and ReorderQuantity are the product's
	// ReorderPolicy (SetReorder).
	AutoReorder      *bool  `cql:"auto_reorder" orm:"static"`
	ReorderThreshold *int32 `cql:"reorder_threshold" orm:"static"`
	ReorderQuantity  *int32 `cql:"reorder_quantity" orm:"static"`
	// OpenPurchaseOrder is the id of the product's open purchase order, if any:
	// Reorder sets it IF it is null, Receive clears it, each in a batch guarded
	// by Version, so a product has at most one open purchase order.
	OpenPurchaseOrder *string `cql:"open_purchase_order" orm:"static"`

	// Quantity is the reservation's number of units (0 for a cancelled row).
	Quantity int32 `cql:"quantity"`
	// State is the reservation's state.
	State State `cql:"state"`
	// ExpiresAt is when a held reservation expires.
	ExpiresAt time.Time `cql:"expires_at"`
	// CreatedAt is when the reservation (or its cancelled row) was written first.
	CreatedAt time.Time `cql:"created_at"`
}

// TableName names the stock table.
func (Stock) TableName() string { return "inventory_stock" }

// withoutStatics returns a copy of row r without its static columns, to write
// the row again without touching them.
func withoutStatics(r Stock) Stock {
	return Stock{ProductID: r.ProductID, ReservationID: r.ReservationID, Quantity: r.Quantity, State: r.State, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
}

// Hold is one held reservation in Stock.Holds: a copy of its row's fields, so
// that the row can be written again (released or expired) from the static columns
// alone.
type Hold struct {
	Quantity  int32     `cql:"quantity"`
	ExpiresAt time.Time `cql:"expires_at"`
	CreatedAt time.Time `cql:"created_at"`
}

// UDTName names the user-defined type of a Hold.
func (Hold) UDTName() string { return "inventory_hold" }

// expiryEntry is a row of the expiry index: a held reservation, in the bucket of
// its expiry time. It is a hint, written before the reservation (so no held row
// lacks one): the product's partition decides. Rows whose reservation was never
// made, or was settled otherwise, are read once and left to their TTL.
type expiryEntry struct {
	Bucket        time.Time `cql:"bucket" orm:"pk"`
	ExpiresAt     time.Time `cql:"expires_at" orm:"ck"`
	ProductID     string    `cql:"product_id" orm:"ck"`
	ReservationID string    `cql:"reservation_id" orm:"ck"`
}

func (expiryEntry) TableName() string { return "inventory_expiry" }

// expiryCursor is where the sweeper goes on: every bucket before Next has been
// read after it was complete, and is never read again.
type expiryCursor struct {
	Name      string    `cql:"name" orm:"pk"`
	Next      time.Time `cql:"next_bucket"`
	UpdatedAt time.Time `cql:"updated_at"`
}

func (expiryCursor) TableName() string { return "inventory_expiry_cursor" }

// Item is one line of a reservation or a check: a product and a number of units.
type Item struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// Reservation is a reservation's row in one product.
type Reservation struct {
	ProductID     string    `json:"product_id"`
	ReservationID string    `json:"reservation_id"`
	Quantity      int       `json:"quantity"`
	State         State     `json:"state"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
}

// Level is a product's stock as stored.
type Level struct {
	ProductID string `json:"product_id"`
	// OnHand is the number of units physically in stock.
	OnHand int `json:"on_hand"`
	// Available is what can still be reserved: OnHand minus Held.
	Available int `json:"available"`
	// Held is the sum of the held reservations' quantities.
	Held int `json:"held"`
	// Version counts the changes to the stock.
	Version int64 `json:"version"`
	// UpdatedAt is when the stock last changed.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Reorder is the product's reorder policy (the zero policy when none was set).
	Reorder ReorderPolicy `json:"reorder"`
	// OpenPurchaseOrder is the id of the product's open purchase order, if any.
	OpenPurchaseOrder string `json:"open_purchase_order,omitempty"`
	// Reservations are the held reservations, by reservation id. A hold whose
	// expiry has passed is listed until it is released: by the next change to the
	// product, or by the sweeper.
	Reservations []Reservation `json:"reservations"`
}

// ReorderPolicy says whether and how a product is re-ordered when its stock runs
// low (SetReorder, Reorder).
type ReorderPolicy struct {
	// AutoReorder turns re-ordering on.
	AutoReorder bool `json:"auto_reorder"`
	// Threshold is the level of available units at or below which Reorder
	// opens a purchase order.
	Threshold int `json:"reorder_threshold"`
	// Quantity is how many units a purchase order asks for (at least 1 when
	// AutoReorder is set).
	Quantity int `json:"reorder_quantity"`
}

// Purchase order states.
const (
	// POOpen: ordered from the supplier, not received yet.
	POOpen = "open"
	// POReceived: received, its units added to the stock.
	POReceived = "received"
)

// PurchaseOrder is an order of units from the supplier, made by Reorder and
// closed by Receive. Its row is in table inventory_purchase_orders, one
// partition per product.
type PurchaseOrder struct {
	// ProductID is the product ordered: the partition key.
	ProductID string `cql:"product_id" orm:"pk" json:"product_id"`
	// ID is the purchase order's id (a time UUID).
	ID string `cql:"purchase_order_id" orm:"ck" json:"id"`
	// Quantity is the number of units ordered: the policy's, when the row was
	// written.
	Quantity int32 `cql:"quantity" json:"quantity"`
	// State is POOpen or POReceived.
	State string `cql:"state" json:"state"`
	// CreatedAt is when Reorder opened it.
	CreatedAt time.Time `cql:"created_at" json:"created_at"`
	// ReceivedAt is when Receive recorded it received.
	ReceivedAt time.Time `cql:"received_at" json:"received_at,omitzero"`
}

// TableName names the purchase orders' table.
func (PurchaseOrder) TableName() string { return "inventory_purchase_orders" }
