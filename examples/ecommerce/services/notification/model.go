package notification

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors of the notification service.
var (
	// ErrInvalid: a notification with a missing or malformed field; a
	// *ValidationError says which. Nothing was recorded.
	ErrInvalid = errors.New("notification: invalid request")
	// ErrConflict: the notification id was used before for another user or kind.
	ErrConflict = errors.New("notification: id used with other parameters")
	// ErrPermanent is matched by a channel's error that another attempt cannot
	// cure (an address refused, a webhook answering 4xx): the delivery is dead at
	// once. Make one with Permanent.
	ErrPermanent = errors.New("notification: permanent delivery failure")
)

// Permanent marks err as a failure no retry can cure: it matches ErrPermanent and
// still wraps err.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// ValidationError lists the fields of a notification that are missing or
// malformed. It matches ErrInvalid.
type ValidationError struct {
	// Fields maps a field (its JSON name) to what is wrong with it.
	Fields map[string]string
}

// Error lists the fields in order.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("notification: invalid request:")
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, " %s %s;", k, e.Fields[k])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Kinds of notification the platform sends. Others are accepted (lower-case
// letters, digits and underscores).
const (
	KindOrderConfirmed    = "order_confirmed"
	KindOrderStatusUpdate = "order_status_update"
	KindLowStockAlert     = "low_stock_alert"
)

// Limits of a notification's fields, in bytes.
const (
	MaxIDLen      = 200
	MaxUserIDLen  = 100
	MaxKindLen    = 64
	MaxSubjectLen = 200
	MaxBodyLen    = 32 << 10
	MaxDataKeys   = 32
	MaxDataLen    = 1 << 10 // each key and each value
)

// Notification is one message to someone, as the log keeps it.
type Notification struct {
	// ID names the notification: a second Notify with the same id is a duplicate.
	// A saga step's idempotency key ("<saga id>/<step>/do") is the natural one.
	ID string `cql:"notification_id" orm:"pk" json:"id"`
	// UserID is whom it is for; empty for a notification to the administrators
	// (a low-stock alert).
	UserID  string `cql:"user_id" json:"user_id,omitempty"`
	Kind    string `cql:"kind" json:"kind"`
	Subject string `cql:"subject" json:"subject"`
	Body    string `cql:"body" json:"body,omitempty"`
	// Data carries what a channel or a receiver may use: an order id, the e-mail
	// address of the user ("email"), a product id.
	Data      map[string]string `cql:"data" json:"data,omitempty"`
	CreatedAt time.Time         `cql:"created_at" json:"created_at"`
}

// Delivery states.
const (
	StatePending = "pending" // to be sent, now or at NextAttemptAt
	StateSent    = "sent"    // the channel accepted it
	StateDead    = "dead"    // given up: a permanent failure, or every attempt failed
)

// Delivery is a notification's delivery on one channel.
type Delivery struct {
	NotificationID string `cql:"notification_id" orm:"pk" json:"-"`
	Channel        string `cql:"channel" orm:"ck" json:"channel"`
	// Target is where the channel sends it: an e-mail address, a URL, a room.
	Target   string `cql:"target" json:"target"`
	State    string `cql:"state" json:"state"`
	Attempts int    `cql:"attempts" json:"attempts"`
	// LastError is the error of the last failed attempt.
	LastError     string    `cql:"last_error" json:"last_error,omitempty"`
	NextAttemptAt time.Time `cql:"next_attempt_at" json:"next_attempt_at"`
	SentAt        time.Time `cql:"sent_at" json:"sent_at"`
	// DueMS is the key of the delivery's row in the due index (its due time, in
	// Unix milliseconds).
	DueMS int64 `cql:"due_ms" json:"-"`
	// ClaimToken and ClaimUntilMS are the claim of the worker sending it, if any
	// (the claim is held while ClaimUntilMS is in the future).
	ClaimToken   string `cql:"claim_token" json:"-"`
	ClaimUntilMS int64  `cql:"claim_until_ms" json:"-"`
}

// Record is a notification with its deliveries.
type Record struct {
	Notification
	Deliveries []Delivery `json:"deliveries"`
}

// userRow indexes a user's notifications, newest first.
type userRow struct {
	UserID    string    `cql:"user_id" orm:"pk"`
	CreatedAt time.Time `cql:"created_at" orm:"ck=desc"`
	ID        string    `cql:"notification_id" orm:"ck"`
}

// dueRow is a delivery to make at DueMS. The due index is shared by the tenants
// (it names the tenant), partitioned by time bucket, so that a worker reads the
// buckets of a recent window rather than the whole table.
type dueRow struct {
	Bucket         int64  `cql:"bucket" orm:"pk"`
	DueMS          int64  `cql:"due_ms" orm:"ck"`
	Tenant         string `cql:"tenant" orm:"ck"`
	NotificationID string `cql:"notification_id" orm:"ck"`
	Channel        string `cql:"channel" orm:"ck"`
}

// Validate reports the fields of n that are missing or malformed.
func (n Notification) Validate() error {
	f := map[string]string{}
	text := func(field, v string, max int, required, multiline bool) {
		switch {
		case v == "" && required:
			f[field] = "required"
		case len(v) > max:
			f[field] = fmt.Sprintf("at most %d bytes", max)
		case !utf8.ValidString(v):
			f[field] = "not valid UTF-8"
		case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) }):
			f[field] = "holds a control character"
		}
	}
	text("id", n.ID, MaxIDLen, true, false)
	text("user_id", n.UserID, MaxUserIDLen, n.Kind != KindLowStockAlert, false)
	text("subject", n.Subject, MaxSubjectLen, true, false)
	text("body", n.Body, MaxBodyLen, false, true)
	switch {
	case n.Kind == "":
		f["kind"] = "required"
	case len(n.Kind) > MaxKindLen || strings.ContainsFunc(n.Kind, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }):
		f["kind"] = fmt.Sprintf("lower-case letters, digits and underscores, at most %d", MaxKindLen)
	}
	if len(n.Data) > MaxDataKeys {
		f["data"] = fmt.Sprintf("at most %d entries", MaxDataKeys)
	}
	for k, v := range n.Data {
		if k == "" || len(k) > MaxDataLen || len(v) > MaxDataLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
			f["data"] = fmt.Sprintf("keys non-empty, keys and values valid UTF-8 of at most %d bytes", MaxDataLen)
		}
	}
	if len(f) > 0 {
		return &ValidationError{Fields: f}
	}
	return nil
}
