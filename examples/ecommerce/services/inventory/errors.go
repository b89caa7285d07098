package inventory

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Errors of the service. Each is returned wrapped with the product and
// reservation it concerns (a *ProductError, or a *ValidationError for
// ErrInvalid); test with errors.Is. Besides these, a call can fail with the
// orm's errors: orm.ErrUncertain when a write's outcome stayed unknown (the
// product's partition then holds it or not: call again, or read), orm.ErrUnavailable
// and orm.ErrTimeout, and tenant.ErrNoTenant on a tenanted DB without a tenant.
var (
	// ErrInvalid: a request the service refuses before touching anything: an empty
	// id, a quantity out of range, a product named twice.
	ErrInvalid = errors.New("inventory: invalid request")
	// ErrUnknownProduct: no stock was ever set for the product.
	ErrUnknownProduct = errors.New("inventory: unknown product")
	// ErrInsufficient: fewer units are available than asked for; nothing was held.
	ErrInsufficient = errors.New("inventory: insufficient stock")
	// ErrCompensated: the reservation was released (or cancelled by a release that
	// came first) before this reserve: it is refused, and nothing is held.
	ErrCompensated = errors.New("inventory: reservation already compensated")
	// ErrNotHeld: a commit of a reservation that is not held in the product:
	// never made, released or cancelled.
	ErrNotHeld = errors.New("inventory: reservation not held")
	// ErrExpired: the reservation expired before it was committed, and its units
	// were given back.
	ErrExpired = errors.New("inventory: reservation expired")
	// ErrContended: the product's partition changed under every attempt
	// (Config.Attempts) to change it; this call applied nothing.
	ErrContended = errors.New("inventory: too much contention")
)

// ProductError is a refusal concerning one product: it matches its Err (one of
// the sentinels above) with errors.Is.
type ProductError struct {
	// Err is the sentinel: ErrUnknownProduct, ErrInsufficient, ErrCompensated,
	// ErrNotHeld or ErrExpired.
	Err error
	// ProductID is the product concerned.
	ProductID string
	// ReservationID is the reservation concerned, if any.
	ReservationID string
	// Requested and Available are the units asked for and those available, for
	// ErrInsufficient.
	Requested, Available int
	// State is the reservation's state, for ErrCompensated and ErrNotHeld (empty
	// when there is no row).
	State State
}

// Error says what was refused, naming the product and the reservation.
func (e *ProductError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	fmt.Fprintf(&b, ": product %q", e.ProductID)
	if e.ReservationID != "" {
		fmt.Fprintf(&b, ", reservation %q", e.ReservationID)
	}
	switch {
	case errors.Is(e.Err, ErrInsufficient):
		fmt.Fprintf(&b, ": %d requested, %d available", e.Requested, e.Available)
	case e.State != "":
		fmt.Fprintf(&b, ": %s", e.State)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ProductError) Unwrap() error { return e.Err }

// ValidationError lists the fields of a request that are invalid, by name (the
// names of the HTTP API's JSON, such as "items[1].quantity"). It matches
// ErrInvalid.
type ValidationError struct {
	Fields map[string]string
}

// Error lists the fields in name order.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// fields collects validation failures.
type fields map[string]string

// add records what is wrong with field name (the first failure of a field stays).
func (f fields) add(name, msg string) {
	if _, ok := f[name]; !ok {
		f[name] = msg
	}
}

// err returns the failures as a *ValidationError, or nil when there are none.
func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}
