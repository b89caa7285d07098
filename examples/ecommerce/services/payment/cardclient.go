package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

// NetworkError is an error answer of the card network: a definite refusal (4xx), or
// a failure (5xx), which matches ErrNetworkUnavailable.
type NetworkError struct {
	// Op is the call: "charge", "refund" or "lookup".
	Op string
	// Key is the idempotency key of the call.
	Key string
	// Status is the HTTP status of the answer.
	Status int
	// Message is the network's error message.
	Message string
	// Fields are the network's field errors of a 400 answer.
	Fields map[string]string
}

// Error names the call, its key, the status and the network's message.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("payment: card network %s %q: %d %s", e.Op, e.Key, e.Status, e.Message)
}

// Is makes a 5xx answer match ErrNetworkUnavailable.
func (e *NetworkError) Is(target error) bool {
	return target == ErrNetworkUnavailable && e.Status >= 500
}

// netCharge and netRefund are the parts of the network's answers the service reads.
type netCharge struct {
	ChargeID    string `json:"charge_id"`
	Status      string `json:"status"`
	DeclineCode string `json:"decline_code"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	CardLast4   string `json:"card_last4"`
}

type netRefund struct {
	RefundID string `json:"refund_id"`
}

// cardClient calls the card network: each call with its own timeout, retried under
// the policy (transport errors and 5xx answers; never a 4xx). Every call it makes is
// idempotent at the network, by its key, so a retry never charges or refunds twice.
type cardClient struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	policy  retry.Policy
	log     *slog.Logger
}

func (c *cardClient) charge(ctx context.Context, key string, amount int64, currency, card string) (netCharge, error) {
	var out netCharge
	body := map[string]any{"idempotency_key": key, "amount_cents": amount, "currency": currency, "card": card}
	err := c.call(ctx, "charge", key, http.MethodPost, "/v1/charges", body, &out)
	return out, err
}

func (c *cardClient) refund(ctx context.Context, key, chargeID string, amount int64) (netRefund, error) {
	var out netRefund
	body := map[string]any{"idempotency_key": key, "charge_id": chargeID, "amount_cents": amount}
	err := c.call(ctx, "refund", key, http.MethodPost, "/v1/refunds", body, &out)
	return out, err
}

// lookup returns the charge the network made under key; found is false when it made
// none.
func (c *cardClient) lookup(ctx context.Context, key string) (ch netCharge, found bool, err error) {
	err = c.call(ctx, "lookup", key, http.MethodGet, "/v1/charges?idempotency_key="+url.QueryEscape(key), nil, &ch)
	if ne, ok := errors.AsType[*NetworkError](err); ok && ne.Status == http.StatusNotFound {
		return netCharge{}, false, nil
	}
	return ch, err == nil, err
}

// call runs one request under the retry policy and decodes a 2xx answer into out.
func (c *cardClient) call(ctx context.Context, op, key, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("payment: card network %s %q: %w", op, key, err)
		}
	}
	target, err := c.base.Parse(strings.TrimPrefix(path, "/"))
	if err != nil {
		return fmt.Errorf("payment: card network %s %q: %w", op, key, err)
	}
	return retry.Do(ctx, c.policy, func(ctx context.Context, attempt int) error {
		err := c.once(ctx, op, key, method, target.String(), payload, out)
		if err != nil && errors.Is(err, ErrNetworkUnavailable) {
			c.log.WarnContext(ctx, "card network call failed", "op", op, "key", key, "attempt", attempt, "err", err)
		}
		return err
	})
}

func (c *cardClient) once(ctx context.Context, op, key, method, target string, payload []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("payment: card network %s %q: %w", op, key, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// No answer: the call may or may not have reached the network.
		return fmt.Errorf("%w: %s %q: %w", ErrNetworkUnavailable, op, key, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %q: reading the answer: %w", ErrNetworkUnavailable, op, key, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return &NetworkError{Op: op, Key: key, Status: resp.StatusCode, Message: e.Error, Fields: e.Fields}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// An answer we cannot read says nothing certain about the outcome.
		return fmt.Errorf("%w: %s %q: undecodable answer: %w", ErrNetworkUnavailable, op, key, err)
	}
	return nil
}
