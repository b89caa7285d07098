package registry_test

import (
	"fmt"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// Small models for the provisioning benchmark.
type (
	benchUser struct {
		ID    orm.UUID `cql:"id" orm:"pk"`
		Email string   `cql:"email"`
	}
	benchOrder struct {
		User  orm.UUID `cql:"user" orm:"pk"`
		ID    int64    `cql:"id" orm:"ck"`
		Total int64    `cql:"total"`
	}
	benchEvent struct {
		ID   int64  `cql:"id" orm:"pk"`
		Kind string `cql:"kind"`
	}
)

// BenchmarkProvisionKeyspace provisions b.N keyspace tenants, each with a Schema of
// three small models: the lease, the slot, CREATE KEYSPACE, three CREATE TABLEs
// (each waiting for schema agreement) and the status changes. Keep b.N small:
// go test -run '^$' -bench ProvisionKeyspace -benchtime=3x ./tenant/registry/
func BenchmarkProvisionKeyspace(b *testing.B) {
	ctx := b.Context()
	r := newRegistry(b, openDB(b, nil), "bench_prov", registry.Config{MaxKeyspaceTenants: 1000})
	schema := registry.Schema{Models: []orm.SchemaModel{
		orm.MustModel[benchUser](r.DB()), orm.MustModel[benchOrder](r.DB()), orm.MustModel[benchEvent](r.DB()),
	}}
	run := orm.NewUUID().String()[:6]
	n := 0
	for b.Loop() {
		n++
		if _, err := r.Provision(ctx, registry.Spec{ID: fmt.Sprintf("b%s-%d", run, n), Strategy: registry.KeyspaceStrategy}, schema); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyspaceCached is the cost the ORM pays on every statement of a
// tenant-scoped model: Registry.Keyspace answered from the cache.
func BenchmarkKeyspaceCached(b *testing.B) {
	ctx := b.Context()
	r := newRegistry(b, openDB(b, nil), "bench_cached", registry.Config{MaxStaleness: registry.DefaultMaxStaleness})
	if _, err := r.Provision(ctx, registry.Spec{ID: "cached"}, registry.Schema{}); err != nil {
		b.Fatal(err)
	}
	if _, err := r.Keyspace(ctx, "cached"); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Keyspace(ctx, "cached"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Keyspace(ctx, "cached"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
