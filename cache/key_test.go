package cache_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

func TestNewKey(t *testing.T) {
	for _, tc := range []struct {
		tenant, model string
		parts         []string
		want          string // "" for an error
	}{
		{"acme", "product", []string{"42"}, "acme:product:42"},
		{"acme", "order_item", []string{"o-1", "3"}, "acme:order_item:o-1:3"},
		{"a:b", "m", []string{"k"}, "a%3Ab:m:k"},
		{"a", "b:m", []string{"k"}, "a:b%3Am:k"},
		{"a", "m", []string{"x:y"}, "a:m:x%3Ay"},
		{"a", "m", []string{"x", "y"}, "a:m:x:y"},
		{"a", "m", []string{"x%3Ay"}, "a:m:x%253Ay"},
		{"a", "m", []string{""}, "a:m:"},
		{"a", "m", []string{"", ""}, "a:m::"},
		{"", "m", []string{"k"}, ""},
		{"a", "", []string{"k"}, ""},
		{"a", "m", nil, ""},
	} {
		k, err := cache.NewKey(tc.tenant, tc.model, tc.parts...)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NewKey(%q, %q, %q) = %q, want an error", tc.tenant, tc.model, tc.parts, k)
			}
			continue
		}
		if err != nil || k.String() != tc.want {
			t.Errorf("NewKey(%q, %q, %q) = %q, %v; want %q", tc.tenant, tc.model, tc.parts, k, err, tc.want)
		}
	}
}

func TestTenantKey(t *testing.T) {
	k, err := cache.TenantKey(tenant.With(context.Background(), "acme"), "product", "42")
	if err != nil || k.String() != "acme:product:42" {
		t.Fatalf("TenantKey = %q, %v; want acme:product:42", k, err)
	}
	if _, err := cache.TenantKey(context.Background(), "product", "42"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("TenantKey without a tenant: %v, want tenant.ErrNoTenant", err)
	}
}

func TestZeroKeyRefused(t *testing.T) {
	c, err := cache.NewCache[string](newMemory(t, cache.MemoryConfig{}), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var zero cache.Key
	load := func(context.Context) (string, int64, error) {
		t.Error("loader called for the zero Key")
		return "", 0, nil
	}
	for name, err := range map[string]error{
		"Get":        func() error { _, err := c.Get(ctx, zero); return err }(),
		"Set":        c.Set(ctx, zero, "v", 1, 0),
		"Delete":     c.Delete(ctx, zero),
		"Invalidate": c.Invalidate(ctx, zero, 1),
		"GetOrLoad":  func() error { _, err := c.GetOrLoad(ctx, zero, load); return err }(),
	} {
		if err == nil {
			t.Errorf("%s with the zero Key: no error", name)
		}
	}
}
