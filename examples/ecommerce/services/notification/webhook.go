package notification

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The headers of a webhook delivery.
const (
	// HeaderIdempotencyKey carries DeliveryKey(notification id, channel name),
	// the same on every attempt: a receiver that has seen it may answer 2xx and
	// do nothing.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderSignature carries "sha256=" and the lower-case hex HMAC-SHA256 of the
	// request body under the shared secret (see Sign and VerifySignature).
	HeaderSignature = "X-Notification-Signature"
)

// Sign returns the HeaderSignature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is body's signature under secret,
// comparing in constant time. A receiver computes it over the raw body, before
// decoding it.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// WebhookConfig configures a Webhook channel.
type WebhookConfig struct {
	// URL receives every notification, as an HTTP POST. Required.
	URL string
	// Secret signs each body. Required, at least 16 bytes.
	Secret []byte
	// Client makes the calls (each bounded by the Service's Timeout). Default: a
	// client of its own.
	Client *http.Client
	// Name is the channel's name. Default "webhook".
	Name string
}

func (c *WebhookConfig) setDefaults() {
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Name == "" {
		c.Name = "webhook"
	}
}

// Validate reports a WebhookConfig that cannot send: no or a malformed URL, a
// Secret under 16 bytes.
func (c WebhookConfig) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("notification: webhook: URL %q is not an http(s) URL", c.URL))
	}
	if len(c.Secret) < 16 {
		errs = append(errs, errors.New("notification: webhook: Secret under 16 bytes"))
	}
	return errors.Join(errs...)
}

// Webhook is the webhook channel: each delivery is a POST of the notification
// as JSON (the Notification's JSON form) to the URL, with the headers
// HeaderIdempotencyKey and HeaderSignature. A 2xx answer is a delivery; 408,
// 429 and 5xx answers and transport errors are retried; any other answer is
// permanent.
type Webhook struct {
	cfg WebhookConfig
}

// NewWebhook builds a Webhook channel, or returns cfg's Validate error.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Webhook{cfg: cfg}, nil
}

// Name is the channel's name.
func (w *Webhook) Name() string { return w.cfg.Name }

// Target is the URL, for every notification.
func (w *Webhook) Target(Notification) string { return w.cfg.URL }

// Deliver posts n to target.
func (w *Webhook) Deliver(ctx context.Context, n Notification, target string) error {
	body, err := json.Marshal(n)
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encoding %q: %w", n.ID, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, DeliveryKey(n.ID, w.cfg.Name))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, body))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: POST %s: %w", target, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 500 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests:
		return fmt.Errorf("webhook: POST %s: %d %s", target, c, bytes.TrimSpace(msg))
	default:
		return Permanent(fmt.Errorf("webhook: POST %s: %d %s", target, c, bytes.TrimSpace(msg)))
	}
}
