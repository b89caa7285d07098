package cardnet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Test cards: numbers whose decision does not depend on Config.DeclineRate.
const (
	CardApprove           = "4242424242424242" // always approved
	CardDecline           = "4000000000000002" // always declined: "card_declined"
	CardInsufficientFunds = "4000000000009995" // always declined: "insufficient_funds"
)

// Decline codes.
const (
	DeclineCardDeclined      = "card_declined"
	DeclineInsufficientFunds = "insufficient_funds"
)

// Charge statuses.
const (
	StatusApproved = "approved"
	StatusDeclined = "declined"
)

// MaxAmountCents is the largest amount one charge or refund may carry.
const MaxAmountCents = 1_000_000_000_000

// MaxKeyLen is the longest idempotency key the network takes, in bytes.
const MaxKeyLen = 255

// Config configures a Network. Its zero value is a network that approves every card
// but the declining test cards, at once, without outages.
type Config struct {
	// DeclineRate is the share of charges declined with "card_declined", from 0 to 1,
	// decided from Seed and the idempotency key (test cards aside).
	DeclineRate float64
	// Latency delays every API answer but outages; Jitter adds up to that much more,
	// drawn at random for each answer.
	Latency time.Duration
	Jitter  time.Duration
	// OutageRate is the share of API requests answered 503 before anything is done,
	// from 0 to 1.
	OutageRate float64
	// Seed seeds the decline decisions and the random draws (jitter, outages).
	// Networks with the same Seed decide the same keys alike; 0 is a seed like any
	// other.
	Seed int64
	// MaxBodyBytes bounds a request body. Default 64 KiB.
	MaxBodyBytes int64
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 64 << 10
	}
}

// Validate reports a Config a Network cannot run with: a rate outside 0..1 (or NaN),
// a negative duration or body limit.
func (c Config) Validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{{"DeclineRate", c.DeclineRate}, {"OutageRate", c.OutageRate}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("cardnet: %s %v is not between 0 and 1", r.name, r.v))
		}
	}
	if c.Latency < 0 || c.Jitter < 0 {
		errs = append(errs, fmt.Errorf("cardnet: negative Latency %s or Jitter %s", c.Latency, c.Jitter))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("cardnet: negative MaxBodyBytes %d", c.MaxBodyBytes))
	}
	return errors.Join(errs...)
}

// Charge is a charge as the network answers it.
type Charge struct {
	ChargeID       string    `json:"charge_id"`
	Status         string    `json:"status"`
	DeclineCode    string    `json:"decline_code,omitempty"`
	AmountCents    int64     `json:"amount_cents"`
	Currency       string    `json:"currency"`
	CardLast4      string    `json:"card_last4"`
	RefundedCents  int64     `json:"refunded_cents"`
	IdempotencyKey string    `json:"idempotency_key"`
	Created        time.Time `json:"created"`
}

// Refund is a refund as the network answers it.
type Refund struct {
	RefundID       string    `json:"refund_id"`
	ChargeID       string    `json:"charge_id"`
	AmountCents    int64     `json:"amount_cents"`
	Status         string    `json:"status"` // always "succeeded"
	IdempotencyKey string    `json:"idempotency_key"`
	Created        time.Time `json:"created"`
}

// Stats is what the network has done since it started: what tests read to check that
// an effect happened exactly once.
type Stats struct {
	// Charges counts the charges made (one per idempotency key), Approved and Declined
	// split them; ApprovedCents sums the approved amounts.
	Charges       int   `json:"charges"`
	Approved      int   `json:"approved"`
	Declined      int   `json:"declined"`
	ApprovedCents int64 `json:"approved_cents"`
	// ChargeReplays counts charge requests answered from a key seen before.
	ChargeReplays int `json:"charge_replays"`
	// Refunds counts the refunds made (one per key); RefundedCents sums them;
	// RefundReplays counts refund requests answered from a key seen before.
	Refunds       int   `json:"refunds"`
	RefundedCents int64 `json:"refunded_cents"`
	RefundReplays int   `json:"refund_replays"`
	// Outages counts the requests answered 503.
	Outages int `json:"outages"`
}

// Network is a simulated card network. Its state lives in this process's memory,
// guarded by a mutex: all its methods, and its handler, are safe for concurrent use.
type Network struct {
	cfg Config

	mu         sync.Mutex
	rng        *rand.Rand
	outage     bool
	charges    map[string]*chargeRecord // by charge id
	chargeKeys map[string]*chargeRecord // by idempotency key
	refundKeys map[string]*Refund       // by idempotency key
	stats      Stats
}

type chargeRecord struct {
	Charge
	fingerprint [32]byte // of amount, currency and card: what a replay must repeat
}

// New returns a Network with no charges, or cfg's Validate error.
func New(cfg Config) (*Network, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Network{
		cfg:        cfg,
		rng:        rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		charges:    map[string]*chargeRecord{},
		chargeKeys: map[string]*chargeRecord{},
		refundKeys: map[string]*Refund{},
	}, nil
}

// SetOutage forces a full outage (on) or lifts it (off): during one every API request
// is answered 503, as with Config.OutageRate 1. /v1/stats still answers.
func (n *Network) SetOutage(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.outage = on
}

// Stats returns what the network has done so far.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// down reports whether this request falls in an outage, and counts it if so.
func (n *Network) down() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.outage || (n.cfg.OutageRate > 0 && n.rng.Float64() < n.cfg.OutageRate) {
		n.stats.Outages++
		return true
	}
	return false
}

// delay waits Latency plus a draw of Jitter, or until ctx ends, whose error it then
// returns.
func (n *Network) delay(ctx context.Context) error {
	d := n.cfg.Latency
	if n.cfg.Jitter > 0 {
		n.mu.Lock()
		d += time.Duration(n.rng.Int64N(int64(n.cfg.Jitter)))
		n.mu.Unlock()
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Errors of the API, mapped to statuses by the handler.
var (
	errConflict = errors.New("conflict")
	errNotFound = errors.New("not found")
)

// chargeRequest is the body of POST /v1/charges.
type chargeRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	AmountCents    int64  `json:"amount_cents"`
	Currency       string `json:"currency"`
	Card           string `json:"card"`
}

func (r chargeRequest) validate() fieldErrors {
	f := fieldErrors{}
	checkKey(f, r.IdempotencyKey)
	checkAmount(f, r.AmountCents)
	if !isCurrency(r.Currency) {
		f["currency"] = "must be a three-letter ISO 4217 code in capitals"
	}
	if msg := checkCard(r.Card); msg != "" {
		f["card"] = msg
	}
	return f
}

// charge makes the charge of r, or returns the one made under its key before
// (replay true), or errConflict when that one was for another amount, currency or
// card. r is valid.
func (n *Network) charge(r chargeRequest) (c Charge, replay bool, err error) {
	fp := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%s", r.AmountCents, r.Currency, r.Card))
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.chargeKeys[r.IdempotencyKey]; ok {
		if old.fingerprint != fp {
			return Charge{}, false, fmt.Errorf("%w: idempotency key %q was used for another amount, currency or card", errConflict, r.IdempotencyKey)
		}
		n.stats.ChargeReplays++
		return old.Charge, true, nil
	}
	status, code := n.decide(r.IdempotencyKey, r.Card)
	rec := &chargeRecord{
		Charge: Charge{
			ChargeID:       "ch_" + n.id("charge", r.IdempotencyKey),
			Status:         status,
			DeclineCode:    code,
			AmountCents:    r.AmountCents,
			Currency:       r.Currency,
			CardLast4:      r.Card[len(r.Card)-4:],
			IdempotencyKey: r.IdempotencyKey,
			Created:        time.Now().UTC(),
		},
		fingerprint: fp,
	}
	n.chargeKeys[r.IdempotencyKey] = rec
	n.charges[rec.ChargeID] = rec
	n.stats.Charges++
	if status == StatusApproved {
		n.stats.Approved++
		n.stats.ApprovedCents += r.AmountCents
	} else {
		n.stats.Declined++
	}
	return rec.Charge, false, nil
}

// decide returns the status and decline code of a charge with this key and card.
func (n *Network) decide(key, card string) (status, code string) {
	switch card {
	case CardApprove:
		return StatusApproved, ""
	case CardDecline:
		return StatusDeclined, DeclineCardDeclined
	case CardInsufficientFunds:
		return StatusDeclined, DeclineInsufficientFunds
	}
	h := n.hash("decide", key)
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53) // uniform in [0, 1)
	if u < n.cfg.DeclineRate {
		return StatusDeclined, DeclineCardDeclined
	}
	return StatusApproved, ""
}

// hash digests the seed, a purpose and a key: decisions and ids of one key differ
// from each other and across seeds.
func (n *Network) hash(purpose, key string) [32]byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(n.cfg.Seed))
	b = append(b, purpose...)
	b = append(b, 0)
	b = append(b, key...)
	return sha256.Sum256(b)
}

func (n *Network) id(purpose, key string) string {
	h := n.hash(purpose, key)
	return hex.EncodeToString(h[:12])
}

// refundRequest is the body of POST /v1/refunds.
type refundRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	ChargeID       string `json:"charge_id"`
	AmountCents    int64  `json:"amount_cents"`
}

func (r refundRequest) validate() fieldErrors {
	f := fieldErrors{}
	checkKey(f, r.IdempotencyKey)
	checkAmount(f, r.AmountCents)
	if r.ChargeID == "" {
		f["charge_id"] = "is required"
	}
	return f
}

// refund refunds r.AmountCents of r.ChargeID once per key: a key seen before returns
// its refund (replay true), or errConflict when that was for another charge or amount.
// It returns errNotFound for an unknown charge and errConflict for more than is left
// to refund (all of a declined charge's amount is). r is valid.
func (n *Network) refund(r refundRequest) (rf Refund, replay bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.refundKeys[r.IdempotencyKey]; ok {
		if old.ChargeID != r.ChargeID || old.AmountCents != r.AmountCents {
			return Refund{}, false, fmt.Errorf("%w: idempotency key %q was used for another charge or amount", errConflict, r.IdempotencyKey)
		}
		n.stats.RefundReplays++
		return *old, true, nil
	}
	c, ok := n.charges[r.ChargeID]
	if !ok {
		return Refund{}, false, fmt.Errorf("%w: charge %q", errNotFound, r.ChargeID)
	}
	left := int64(0)
	if c.Status == StatusApproved {
		left = c.AmountCents - c.RefundedCents
	}
	if r.AmountCents > left {
		return Refund{}, false, fmt.Errorf("%w: refund of %d cents exceeds the %d cents left to refund on charge %q (%s)", errConflict, r.AmountCents, left, r.ChargeID, c.Status)
	}
	c.RefundedCents += r.AmountCents
	rec := &Refund{
		RefundID:       "re_" + n.id("refund", r.IdempotencyKey),
		ChargeID:       r.ChargeID,
		AmountCents:    r.AmountCents,
		Status:         "succeeded",
		IdempotencyKey: r.IdempotencyKey,
		Created:        time.Now().UTC(),
	}
	n.refundKeys[r.IdempotencyKey] = rec
	n.stats.Refunds++
	n.stats.RefundedCents += r.AmountCents
	return *rec, false, nil
}

// chargeByID returns the charge with this id, or errNotFound.
func (n *Network) chargeByID(id string) (Charge, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.charges[id]; ok {
		return c.Charge, nil
	}
	return Charge{}, fmt.Errorf("%w: charge %q", errNotFound, id)
}

// chargeByKey returns the charge made under this idempotency key, or errNotFound.
func (n *Network) chargeByKey(key string) (Charge, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.chargeKeys[key]; ok {
		return c.Charge, nil
	}
	return Charge{}, fmt.Errorf("%w: no charge with idempotency key %q", errNotFound, key)
}
