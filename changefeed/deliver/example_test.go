package deliver_test

import (
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/changefeed/deliver"
	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// The bus message of a change, as ToBus publishes it.
func ExampleMessage() {
	id, _ := orm.ParseUUID("5b6f1e30-d0a1-11f1-8000-000000000001")
	c := changefeed.Change{ID: id, Table: "orders", Op: orm.OpUpdate, Tenant: "acme",
		At: time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC), Partition: "orders/o-17",
		Key: map[string]any{"order_id": "o-17"}, Values: map[string]any{"status": "shipped"}, Changed: []string{"status"}}
	m, err := deliver.Message(c)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.ID, m.Key, m.Type, m.Metadata[cqrs.MetaTenant])
	fmt.Println(string(m.Payload))
	// Output:
	// 5b6f1e30-d0a1-11f1-8000-000000000001 orders/o-17 orders.update acme
	// {"id":"5b6f1e30-d0a1-11f1-8000-000000000001","table":"orders","op":"update","tenant":"acme","at":"2026-12-03T06:00:00Z","partition":"orders/o-17","key":{"order_id":"o-17"},"values":{"status":"shipped"},"changed":["status"]}
}
