package order_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type benchRow struct {
	ID string `cql:"id" orm:"pk"`
}

// BenchmarkOrderFlow places orders through the whole flow (six steps, the
// inventory and payment services over HTTP on loopback, the card network
// simulator without latency), one at a time and 16 in flight, beside one plain
// lightweight transaction in the same run:
//
//	go test -run '^$' -bench BenchmarkOrderFlow -benchtime 100x ./examples/ecommerce/services/order
func BenchmarkOrderFlow(b *testing.B) {
	p := start(b)
	ctx := tenant.With(context.Background(), "acme")
	rows := orm.MustModel[benchRow](p.db, orm.TableName("bench_lwt"))
	if err := p.db.Sync(ctx, rows); err != nil {
		b.Fatal(err)
	}
	run := orm.NewUUID().String()[:8]
	product := "bench-" + run
	if _, err := p.inventory.SetStock(ctx, product, 1_000_000); err != nil {
		b.Fatal(err)
	}
	n := 0
	place := func() error {
		n++
		id := fmt.Sprintf("bench-%s-%d-%s", run, n, orm.NewUUID().String()[:4])
		if err := p.orders.Place(ctx, order.PlaceOrder{OrderID: id, UserID: "u", Items: []order.Item{{ProductID: product, Quantity: 1, PriceCents: 100}},
			Currency: "EUR", Card: cardnet.CardApprove}); err != nil {
			return err
		}
		v, err := p.orders.Wait(ctx, id)
		if err == nil && v.Status != order.StatusConfirmed {
			err = fmt.Errorf("order %s: %s %s", id, v.Status, v.Reason)
		}
		return err
	}
	b.Run("plain_lwt", func(b *testing.B) {
		for b.Loop() {
			if err := rows.InsertIfNotExists(ctx, &benchRow{ID: orm.NewUUID().String()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("order", func(b *testing.B) {
		for b.Loop() {
			if err := place(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	})
	b.Run("order_parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := "benchp-" + orm.NewUUID().String()
				err := p.orders.Place(ctx, order.PlaceOrder{OrderID: id, UserID: "u", Items: []order.Item{{ProductID: product, Quantity: 1, PriceCents: 100}},
					Currency: "EUR", Card: cardnet.CardApprove})
				if err == nil {
					var v order.View
					if v, err = p.orders.Wait(ctx, id); err == nil && v.Status != order.StatusConfirmed {
						err = fmt.Errorf("order %s: %s %s", id, v.Status, v.Reason)
					}
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	})
}
