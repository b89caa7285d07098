package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

// Order is an application model: tenant-scoped on the registry's DB.
type Order struct {
	ID    orm.UUID `cql:"id" orm:"pk"`
	Total int64    `cql:"total"`
}

// The whole lifecycle: the registry places each tenant and says whether it is
// served; the application makes its models on the registry's DB and passes them to
// Provision. (No output: it needs a Cassandra server.)
func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: []string{"127.0.0.1:9042"}, Keyspace: "shop"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.New(db, registry.Config{
		Replication: orm.NetworkTopology(map[string]int{"dc1": 3}), // production
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := reg.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	app := reg.DB()
	orders := orm.MustModel[Order](app)
	m, err := migrate.New(app, migrate.Config{})
	if err != nil {
		log.Fatal(err)
	}
	schema := registry.Schema{
		Models:  []orm.SchemaModel{orders},
		Migrate: func(ctx context.Context) error { _, err := m.Up(ctx); return err },
	}
	// Most tenants share the tables; a few large ones get a keyspace of their own.
	for _, spec := range []registry.Spec{
		{ID: "acme", Name: "Acme"},
		{ID: "globex", Name: "Globex", Strategy: registry.KeyspaceStrategy},
	} {
		if _, err := reg.Provision(ctx, spec, schema); errors.Is(err, registry.ErrCeiling) {
			log.Printf("%s: no keyspace slot left: %v", spec.ID, err)
		} else if err != nil {
			log.Fatal(err)
		}
	}
	// The same code for both: the tenant comes from the context.
	_ = orders.Insert(tenant.With(ctx, "globex"), &Order{ID: orm.NewUUID(), Total: 42})

	// Requests name their tenant; the registry refuses unknown and suspended ones.
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: reg})
	if err != nil {
		log.Fatal(err)
	}
	_ = http.ListenAndServe(":8080", mw(http.NotFoundHandler()))
}

// Validate says what is wrong with a Config before anything connects.
func ExampleConfig_Validate() {
	fmt.Println(registry.Config{}.Validate())
	fmt.Println(registry.Config{KeyspacePrefix: "Tenant-"}.Validate())
	// Output:
	// <nil>
	// registry: Config.KeyspacePrefix "Tenant-": want lowercase letters, digits and underscores, starting with a letter
}
