package tenant

import (
	"context"
	"errors"
	"fmt"
)

// Errors of tenant resolution. Each error a toolkit call returns for a tenant matches
// one of these with errors.Is and names the tenant (or the call) it concerns.
var (
	// ErrNoTenant: a call on tenant-scoped data was given a context without a tenant.
	// The toolkit never falls back to a default tenant.
	ErrNoTenant = errors.New("tenant: no tenant in context")
	// ErrInvalidID: a tenant id is not a slug (see Check).
	ErrInvalidID = errors.New("tenant: invalid tenant id")
	// ErrUnknown: no tenant has this id (or it is being deleted).
	ErrUnknown = errors.New("tenant: unknown tenant")
	// ErrSuspended: the tenant exists and is suspended; its requests are refused.
	ErrSuspended = errors.New("tenant: tenant suspended")
	// ErrMismatch: data that names its tenant (a message's metadata, an event's
	// metadata) names another tenant than the context it is written under. Writing
	// one tenant's data from another tenant's request is a bug in the caller, so
	// it is refused rather than corrected.
	ErrMismatch = errors.New("tenant: tenant does not match the context's")
)

// MaxIDLen is the longest tenant id: with a short prefix it still fits Cassandra's
// 48-character keyspace names.
const MaxIDLen = 32

// Check reports whether id is a valid tenant id: 2 to MaxIDLen characters of
// lowercase ASCII letters, digits and single hyphens, starting with a letter and
// ending with a letter or digit. Such an id is a DNS label (so it can be a subdomain)
// and maps one-to-one onto a Cassandra identifier (see Ident).
func Check(id string) error {
	if len(id) < 2 || len(id) > MaxIDLen {
		return fmt.Errorf("%w %q: want 2 to %d characters", ErrInvalidID, id, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		case c == '-' && i > 0 && i < len(id)-1 && id[i-1] != '-':
		default:
			return fmt.Errorf("%w %q: want lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit", ErrInvalidID, id)
		}
	}
	return nil
}

// Ident returns id as a Cassandra identifier fragment: its hyphens become
// underscores. No valid id holds an underscore, so two ids never share an Ident.
func Ident(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

type ctxKey struct{}

// entry is what With stores: the id, and the reason it is not valid, if it is not.
type entry struct {
	id  string
	err error
}

// With returns a copy of ctx that carries tenant id. An invalid id is carried as
// such: From reports it, so no call runs under it.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, entry{id: id, err: Check(id)})
}

// Without returns a copy of ctx that carries no tenant, whatever ctx carries, or ctx
// itself when it carries none. A consumer uses it for work that belongs to no tenant
// but runs below a context that has one (a subscription opened in a request).
func Without(ctx context.Context) context.Context {
	if ctx.Value(ctxKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, nil)
}

// From returns the tenant ctx carries. It fails with ErrNoTenant when there is none
// and with ErrInvalidID when the id given to With is not valid.
func From(ctx context.Context) (string, error) {
	e, ok := ctx.Value(ctxKey{}).(entry)
	if !ok {
		return "", ErrNoTenant
	}
	if e.err != nil {
		return "", e.err
	}
	return e.id, nil
}
