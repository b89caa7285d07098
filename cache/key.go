package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Key is a namespaced cache key: a tenant, a model (or table) and the parts
// of the entry's key within it, such as the primary key's values. Build one
// with NewKey or TenantKey; the zero Key is refused by every Cache method.
type Key struct{ s string }

// escaper escapes the separator and the escape character, so that a
// component never contains a separator.
var escaper = strings.NewReplacer("%", "%25", ":", "%3A")

// NewKey returns the key of parts within model for tenant: the components
// joined by ':' with each ':' and '%' inside a component escaped, so that two
// different (tenant, model, parts) tuples never give the same key. tenant and
// model must not be empty (data shared by all tenants needs a tenant name of
// its own, such as "global"), and there must be at least one part.
func NewKey(tenant, model string, parts ...string) (Key, error) {
	switch {
	case tenant == "":
		return Key{}, fmt.Errorf("cache: key of model %q: no tenant", model)
	case model == "":
		return Key{}, fmt.Errorf("cache: key of tenant %q: no model", tenant)
	case len(parts) == 0:
		return Key{}, fmt.Errorf("cache: key of tenant %q, model %q: no key parts", tenant, model)
	}
	var b strings.Builder
	b.WriteString(escaper.Replace(tenant))
	b.WriteByte(':')
	b.WriteString(escaper.Replace(model))
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(escaper.Replace(p))
	}
	return Key{b.String()}, nil
}

// TenantKey is NewKey with the tenant of ctx (tenant.From); a context without
// a tenant is an error.
func TenantKey(ctx context.Context, model string, parts ...string) (Key, error) {
	id, err := tenant.From(ctx)
	if err != nil {
		return Key{}, fmt.Errorf("cache: key of model %q: %w", model, err)
	}
	return NewKey(id, model, parts...)
}

// String returns the key as the tiers see it.
func (k Key) String() string { return k.s }

// IsZero reports whether k is the zero Key, which no cache accepts.
func (k Key) IsZero() bool { return k.s == "" }

// errNoNamespace is the error of a Cache method given the zero Key.
var errNoNamespace = errors.New("cache: a key without a namespace (build keys with cache.NewKey)")

// quote quotes a key for an error message.
func quote(s string) string { return strconv.Quote(s) }
