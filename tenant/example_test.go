package tenant_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

func Example() {
	ctx := tenant.With(context.Background(), "acme")
	id, err := tenant.From(ctx)
	fmt.Println(id, err)

	_, err = tenant.From(context.Background())
	fmt.Println(errors.Is(err, tenant.ErrNoTenant))
	// Output:
	// acme <nil>
	// true
}
