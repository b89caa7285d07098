package orm_test

// Benchmarks of the partition strategy against the same models without tenancy, in
// the same run:
//
//	go test -run '^$' -bench Tenancy -benchmem -count=8 ./orm/
//
// "plain" is the model on a DB without tenancy (the fixture of bench_test.go);
// "partition" is the same struct on a tenanted view of that DB, called with a tenant
// in the context, so its table has the tenant column leading the key and every
// statement binds it.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type tenancyFixture struct {
	*benchFixture
	users  *orm.Model[benchUser]
	events *orm.Model[benchEvent]
	ctx    context.Context // carries the tenant
}

var (
	tenancyMu  sync.Mutex
	tenancyFix *tenancyFixture
)

func tenancySetup(b *testing.B) *tenancyFixture {
	b.Helper()
	f := benchSetup(b)
	tenancyMu.Lock()
	defer tenancyMu.Unlock()
	if tenancyFix != nil {
		return tenancyFix
	}
	ctx := tenant.With(context.Background(), "bench-shop")
	plain, err := orm.New(f.session, benchKeyspace, nil)
	if err != nil {
		b.Fatal(err)
	}
	db, err := plain.WithTenancy(orm.Tenancy{})
	if err != nil {
		b.Fatal(err)
	}
	tf := &tenancyFixture{benchFixture: f, ctx: ctx}
	tf.users = newModel[benchUser](b, db, orm.TableName("bench_user_tenant"))
	tf.events = newModel[benchEvent](b, db, orm.TableName("bench_event_tenant"))
	if err := tf.users.Insert(ctx, &f.user); err != nil {
		b.Fatal(err)
	}
	for i := range f.want {
		if err := tf.events.Insert(ctx, &f.want[i]); err != nil {
			b.Fatal(err)
		}
	}
	if rows, err := ormSelect(ctx, tf.events, f.part); err != nil || len(rows) != benchRows {
		b.Fatalf("tenant partition has %d rows (%v), want %d", len(rows), err, benchRows)
	}
	tenancyFix = tf
	return tf
}

func BenchmarkTenancyInsert(b *testing.B) {
	f := tenancySetup(b)
	run := func(ctx context.Context, m *orm.Model[benchUser]) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := m.Insert(ctx, &f.rows[i%len(f.rows)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("plain", run(context.Background(), f.benchFixture.users))
	b.Run("partition", run(f.ctx, f.users))
}

func BenchmarkTenancyGet(b *testing.B) {
	f := tenancySetup(b)
	run := func(ctx context.Context, m *orm.Model[benchUser]) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Get(ctx, f.user.ID); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("plain", run(context.Background(), f.benchFixture.users))
	b.Run("partition", run(f.ctx, f.users))
}

func BenchmarkTenancySelect100(b *testing.B) {
	f := tenancySetup(b)
	run := func(ctx context.Context, m *orm.Model[benchEvent]) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ormSelect(ctx, m, f.part); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("plain", run(context.Background(), f.benchFixture.events))
	b.Run("partition", run(f.ctx, f.events))
}

func BenchmarkTenancyInFlightGet(b *testing.B) {
	f := tenancySetup(b)
	run := func(ctx context.Context, m *orm.Model[benchUser]) func(*testing.B) {
		return func(b *testing.B) {
			runInFlight(b, func(context.Context, int64) error {
				_, err := m.Get(ctx, f.user.ID)
				return err
			})
		}
	}
	b.Run("plain", run(context.Background(), f.benchFixture.users))
	b.Run("partition", run(f.ctx, f.users))
}

func BenchmarkTenancyInFlightInsert(b *testing.B) {
	f := tenancySetup(b)
	run := func(ctx context.Context, m *orm.Model[benchUser]) func(*testing.B) {
		return func(b *testing.B) {
			runInFlight(b, func(_ context.Context, i int64) error {
				return m.Insert(ctx, &f.rows[i%int64(len(f.rows))])
			})
		}
	}
	b.Run("plain", run(context.Background(), f.benchFixture.users))
	b.Run("partition", run(f.ctx, f.users))
}

// BenchmarkTenancyPaired alternates the plain and the partition operation within one
// loop and times each apart, so both see the same server and machine state: the
// ratio it reports is less exposed to drift between sub-benchmarks than theirs.
func BenchmarkTenancyPaired(b *testing.B) {
	f := tenancySetup(b)
	plainCtx := context.Background()
	paired := func(b *testing.B, plain, tenanted func(i int) error) {
		b.ReportAllocs()
		var tp, tt time.Duration
		i := 0
		for b.Loop() {
			start := time.Now()
			if err := plain(i); err != nil {
				b.Fatal(err)
			}
			mid := time.Now()
			if err := tenanted(i); err != nil {
				b.Fatal(err)
			}
			tt += time.Since(mid)
			tp += mid.Sub(start)
			i++
		}
		b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "plain-ns/op")
		b.ReportMetric(float64(tt.Nanoseconds())/float64(b.N), "partition-ns/op")
		b.ReportMetric(float64(tt)/float64(tp), "ratio")
	}
	b.Run("Get", func(b *testing.B) {
		paired(b, func(int) error { _, err := f.benchFixture.users.Get(plainCtx, f.user.ID); return err },
			func(int) error { _, err := f.users.Get(f.ctx, f.user.ID); return err })
	})
	b.Run("Insert", func(b *testing.B) {
		paired(b, func(i int) error { return f.benchFixture.users.Insert(plainCtx, &f.rows[i%len(f.rows)]) },
			func(i int) error { return f.users.Insert(f.ctx, &f.rows[i%len(f.rows)]) })
	})
	b.Run("Select100", func(b *testing.B) {
		paired(b, func(int) error { _, err := ormSelect(plainCtx, f.benchFixture.events, f.part); return err },
			func(int) error { _, err := ormSelect(f.ctx, f.events, f.part); return err })
	})
}
