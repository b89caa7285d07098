package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Errors of the payment service. Those of the barrier (barrier.ErrInFlight,
// barrier.ErrCompensated) come through as they are.
var (
	// ErrInvalid: a request with a missing or malformed field; a *ValidationError
	// says which. Nothing was charged.
	ErrInvalid = errors.New("payment: invalid request")
	// ErrConflict: the payment id was used before for another order, amount or
	// currency, or the network knows its idempotency key with other parameters.
	ErrConflict = errors.New("payment: payment id used with other parameters")
	// ErrNetworkUnavailable: the card network did not answer, or answered 5xx, after
	// the retries. The outcome of the call is unknown: ask again with the same id.
	ErrNetworkUnavailable = errors.New("payment: card network unavailable")
	// ErrNetwork: the card network refused a call the service thought valid (an
	// answer the service does not expect, such as an unknown charge on a refund).
	ErrNetwork = errors.New("payment: unexpected card network answer")
)

// ValidationError lists the fields of a request that are missing or malformed. It
// matches ErrInvalid.
type ValidationError struct {
	// Fields maps a field (its JSON name) to what is wrong with it.
	Fields map[string]string
}

// Error lists the fields in order.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("payment: invalid request:")
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, " %s %s;", k, e.Fields[k])
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Payment statuses.
const (
	StatusPending  = "pending"  // a charge was asked of the network; its answer is not recorded
	StatusApproved = "approved" // charged, booked in the ledger
	StatusDeclined = "declined" // the network declined the card: nothing to book
	StatusRefunded = "refunded" // charged, then refunded: both booked
	StatusVoided   = "voided"   // compensated with nothing to refund: declined, or never charged
)

// Payment is a payment's row in the payments table.
type Payment struct {
	PaymentID   string    `cql:"payment_id" orm:"pk" json:"payment_id"`
	OrderID     string    `cql:"order_id" json:"order_id,omitempty"`
	AmountCents int64     `cql:"amount_cents" json:"amount_cents"`
	Currency    string    `cql:"currency" json:"currency,omitempty"`
	CardLast4   string    `cql:"card_last4" json:"card_last4,omitempty"`
	Status      string    `cql:"status" json:"status"`
	ChargeID    string    `cql:"charge_id" json:"charge_id,omitempty"`
	DeclineCode string    `cql:"decline_code" json:"decline_code,omitempty"`
	RefundID    string    `cql:"refund_id" json:"refund_id,omitempty"`
	CreatedAt   time.Time `cql:"created_at" json:"created_at"`
	UpdatedAt   time.Time `cql:"updated_at" json:"updated_at"`
}

// MaxIDLen is the longest payment id, in bytes.
const MaxIDLen = 200

// MaxAmountCents is the largest amount of one payment.
const MaxAmountCents = 1_000_000_000_000

// ChargeRequest is what a charge needs besides the payment id.
type ChargeRequest struct {
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	// Card is the card number. It goes to the network; only its last four digits are
	// kept.
	Card string `json:"card"`
}

// Config configures a Service. Zero fields take the defaults documented on each.
type Config struct {
	// CardNetURL is the card network's base URL, such as "http://127.0.0.1:7401".
	// Required.
	CardNetURL string
	// HTTPClient makes the calls to the network. Default: a client of its own, whose
	// calls are bounded by Timeout.
	HTTPClient *http.Client
	// Timeout bounds each call to the network, each retry afresh. Default 10 s.
	Timeout time.Duration
	// Retry is the policy of the calls to the network. If nil: retry exactly the
	// errors matching ErrNetworkUnavailable (transport errors, timeouts and 5xx
	// answers), never a 4xx. MaxAttempts default 3; Backoff default 100 ms doubling
	// up to 2 s. Every call is idempotent at the network, by its key.
	Retry retry.Policy
	// Currencies are the accepted currencies, ISO 4217 codes; each has its pair of
	// ledger accounts. Default EUR, GBP, USD.
	Currencies []string
	// BarrierTable is the table of the service's saga barrier. Default
	// "payment_barrier".
	BarrierTable string
	// InFlight is how long a charge or refund run counts as in flight, so that a
	// concurrent request for the same payment is refused with barrier.ErrInFlight
	// rather than run twice at once; after it a run that did not finish is run again.
	// It must exceed the longest run. Default: every attempt's Timeout and the
	// backoffs between them, plus 10 s for the database.
	InFlight time.Duration
	// Log receives the service's warnings (failed calls, unknown outcomes). Default:
	// discarded.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Retry.If == nil {
		c.Retry.If = retry.On(ErrNetworkUnavailable)
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = 3
	}
	if c.Retry.Backoff == (retry.Backoff{}) {
		c.Retry.Backoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second}
	}
	if len(c.Currencies) == 0 {
		c.Currencies = []string{"EUR", "GBP", "USD"}
	}
	if c.BarrierTable == "" {
		c.BarrierTable = "payment_barrier"
	}
	if c.InFlight == 0 {
		n := time.Duration(max(c.Retry.MaxAttempts, 1))
		c.InFlight = n*c.Timeout + (n-1)*max(c.Retry.Backoff.Max, c.Retry.Backoff.Initial) + 10*time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a Config the service cannot run with: no or a malformed
// CardNetURL, a negative duration, an invalid Retry policy, a currency that is not
// three capital letters.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.CardNetURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("payment: CardNetURL %q is not an http(s) URL", c.CardNetURL))
	}
	if c.Timeout < 0 || c.InFlight < 0 {
		errs = append(errs, fmt.Errorf("payment: negative Timeout %s or InFlight %s", c.Timeout, c.InFlight))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("payment: Retry: %w", err))
	}
	for _, cur := range c.Currencies {
		if !isCurrency(cur) {
			errs = append(errs, fmt.Errorf("payment: currency %q is not an ISO 4217 code", cur))
		}
	}
	return errors.Join(errs...)
}

// Service is the payment service: it charges and refunds through the card network,
// exactly once per payment id whatever the number of deliveries, and books each move
// in the ledger. It is safe for concurrent use.
type Service struct {
	cfg      Config
	db       *orm.DB
	payments *orm.Model[Payment]
	entries  *orm.Model[Entry]
	barrier  *barrier.Barrier
	net      *cardClient
}

// New builds the service on db, or returns cfg's Validate error. Its tables
// (payments, ledger_entries and the barrier's) are tenant-scoped: on a tenanted DB
// every call needs a tenant in its context. Call Sync before serving.
func New(db *orm.DB, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.CardNetURL, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("payment: CardNetURL: %w", err)
	}
	payments, err := orm.NewModel[Payment](db, orm.TableName("payments"))
	if err != nil {
		return nil, err
	}
	entries, err := orm.NewModel[Entry](db, orm.TableName("ledger_entries"))
	if err != nil {
		return nil, err
	}
	b, err := barrier.New(db, barrier.Config{Table: cfg.BarrierTable, InFlight: cfg.InFlight})
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg:      cfg,
		db:       db,
		payments: payments,
		entries:  entries,
		barrier:  b,
		net:      &cardClient{base: base, http: cfg.HTTPClient, timeout: cfg.Timeout, policy: cfg.Retry, log: cfg.Log},
	}, nil
}

// Sync creates the service's tables and the barrier's: once for the shared tables
// (ctx without a tenant), and once for each tenant with a keyspace of its own.
func (s *Service) Sync(ctx context.Context) error {
	if err := s.db.Sync(ctx, s.payments, s.entries); err != nil {
		return err
	}
	return s.barrier.Sync(ctx)
}

// Get returns the payment with this id, for the tenant of ctx; orm.ErrNotFound when
// there is none.
func (s *Service) Get(ctx context.Context, id string) (Payment, error) {
	p, err := s.payments.Get(ctx, id)
	if err != nil {
		return Payment{}, fmt.Errorf("payment %q: %w", id, err)
	}
	return p, nil
}

// validate checks a charge request for payment id.
func (s *Service) validate(id string, r ChargeRequest) error {
	f := map[string]string{}
	if msg := checkID(id); msg != "" {
		f["payment_id"] = msg
	}
	switch {
	case r.OrderID == "":
		f["order_id"] = "is required"
	case len(r.OrderID) > MaxIDLen || !utf8.ValidString(r.OrderID):
		f["order_id"] = fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxIDLen)
	}
	switch {
	case r.AmountCents <= 0:
		f["amount_cents"] = "must be positive"
	case r.AmountCents > MaxAmountCents:
		f["amount_cents"] = fmt.Sprintf("must be at most %d", int64(MaxAmountCents))
	}
	if !slices.Contains(s.cfg.Currencies, r.Currency) {
		f["currency"] = "must be one of " + strings.Join(s.cfg.Currencies, ", ")
	}
	switch {
	case r.Card == "":
		f["card"] = "is required"
	case len(r.Card) < 12 || len(r.Card) > 19 || strings.ContainsFunc(r.Card, func(c rune) bool { return c < '0' || c > '9' }):
		f["card"] = "must be 12 to 19 digits"
	}
	if len(f) > 0 {
		return &ValidationError{Fields: f}
	}
	return nil
}

// checkID says what is wrong with a payment id, or "".
func checkID(id string) string {
	switch {
	case id == "":
		return "is required"
	case len(id) > MaxIDLen:
		return fmt.Sprintf("must be at most %d bytes", MaxIDLen)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return "must be valid UTF-8 without control characters"
	}
	return ""
}

func isCurrency(s string) bool {
	return len(s) == 3 && !strings.ContainsFunc(s, func(c rune) bool { return c < 'A' || c > 'Z' })
}

// networkKey is the idempotency key of a payment's call to the network: the barrier's
// key "<id>/<op>", led by the tenant of ctx (tenant ids hold no "/"), since the
// network's keys are shared by every tenant.
func networkKey(ctx context.Context, id string, op barrier.Op) string {
	key := id + "/" + string(op)
	if t, err := tenant.From(ctx); err == nil {
		key = t + "/" + key
	}
	return key
}
