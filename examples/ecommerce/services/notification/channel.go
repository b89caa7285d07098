package notification

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// Channel is a way of delivering notifications: e-mail, a webhook, the
// WebSocket rooms. Its methods must be safe for concurrent use.
type Channel interface {
	// Name names the channel in the log ("email", "webhook", "rooms"): at most
	// one channel of a Service has each name.
	Name() string
	// Target returns where n goes on this channel (an address, a URL, a room),
	// or "" when n is not for this channel: then no delivery is made.
	Target(n Notification) string
	// Deliver sends n to target once. It returns nil when the receiving end
	// accepted it; an error matching ErrPermanent (see Permanent) when no other
	// attempt can succeed; any other error is retried. A delivery may be made
	// again after an error, and even after a success whose record was lost, so
	// Deliver tells the receiver its idempotency key (see DeliveryKey).
	Deliver(ctx context.Context, n Notification, target string) error
}

// DeliveryKey is the idempotency key of notification id's delivery on channel:
// "<id>/<channel>". Every attempt of one delivery carries the same key.
func DeliveryKey(id, channel string) string { return id + "/" + channel }

// keyHash is a short, header-safe form of a delivery key.
func keyHash(id, channel string) string {
	h := sha256.Sum256([]byte(DeliveryKey(id, channel)))
	return hex.EncodeToString(h[:16])
}
