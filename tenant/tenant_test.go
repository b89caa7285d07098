package tenant_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"acme", true},
		{"a1", true},
		{"big-shop-7", true},
		{"abcdefghijabcdefghijabcdefghij12", true}, // 32
		{"abcdefghijabcdefghijabcdefghij123", false},
		{"a", false},
		{"", false},
		{"Acme", false},
		{"1acme", false},
		{"-acme", false},
		{"acme-", false},
		{"ac--me", false},
		{"ac_me", false},
		{"ac me", false},
		{"acme'", false},
		{"acmé", false},
		{"ac\x00me", false},
	} {
		err := tenant.Check(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && !errors.Is(err, tenant.ErrInvalidID) {
			t.Errorf("Check(%q) = %v, want ErrInvalidID", tc.id, err)
		}
	}
}

func TestIdent(t *testing.T) {
	if got := tenant.Ident("big-shop-7"); got != "big_shop_7" {
		t.Fatalf("Ident = %q", got)
	}
}

func TestWithFrom(t *testing.T) {
	if _, err := tenant.From(context.Background()); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("From(empty) = %v, want ErrNoTenant", err)
	}
	ctx := tenant.With(context.Background(), "acme")
	if id, err := tenant.From(ctx); err != nil || id != "acme" {
		t.Fatalf("From = %q, %v", id, err)
	}
	inner := tenant.With(ctx, "globex")
	if id, _ := tenant.From(inner); id != "globex" {
		t.Fatalf("inner From = %q", id)
	}
	if id, _ := tenant.From(ctx); id != "acme" {
		t.Fatalf("outer From after inner With = %q", id)
	}
	if _, err := tenant.From(tenant.With(ctx, "Bad'Id")); !errors.Is(err, tenant.ErrInvalidID) {
		t.Fatalf("From(invalid) = %v, want ErrInvalidID", err)
	}
}

// TestConcurrentContexts: each goroutine sees only the tenant its own context carries.
func TestConcurrentContexts(t *testing.T) {
	ids := []string{"t-a", "t-b", "t-c", "t-d", "t-e", "t-f", "t-g", "t-h"}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := tenant.With(context.Background(), id)
			for range 10000 {
				if got, err := tenant.From(ctx); err != nil || got != id {
					errs <- errors.New("goroutine of " + id + " saw " + got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWithout(t *testing.T) {
	bg := context.Background()
	if got := tenant.Without(bg); got != bg {
		t.Errorf("Without(a context without tenant) returned a new context")
	}
	for _, id := range []string{"acme", "Bad'Id"} {
		ctx := tenant.Without(tenant.With(bg, id))
		if _, err := tenant.From(ctx); !errors.Is(err, tenant.ErrNoTenant) {
			t.Errorf("From(Without(With(%q))) = %v, want ErrNoTenant", id, err)
		}
		if got, err := tenant.From(tenant.With(ctx, "globex")); err != nil || got != "globex" {
			t.Errorf("From(With(Without(...), globex)) = %q, %v; want globex", got, err)
		}
	}
}
