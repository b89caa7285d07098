package lease

import "context"

// heldKey is the context key of a Held.
type heldKey struct{}

// NewContext returns a copy of ctx that carries h, for code run under the lease
// (a projection's handlers, say) to check it and fence its writes with its token.
func NewContext(ctx context.Context, h *Held) context.Context {
	return context.WithValue(ctx, heldKey{}, h)
}

// FromContext returns the lease that NewContext put in ctx, if any. Code given a
// lease this way checks it (Valid, Deadline, Lost) and reads its Token; releasing it
// is for the code that acquired it.
func FromContext(ctx context.Context) (*Held, bool) {
	h, ok := ctx.Value(heldKey{}).(*Held)
	return h, ok && h != nil
}
