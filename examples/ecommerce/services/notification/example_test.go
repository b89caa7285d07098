package notification_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/mailbox"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// The service on a DB without tenancy, mailing through an in-process SMTP
// server: a notification given twice is recorded and mailed once.
func Example() {
	ctx := context.Background()
	ks := env.KeyspacePrefix() + "example"
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: ks})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = db.DropKeyspace(ctx, ks) }()

	mb, err := mailbox.Start("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mb.Close()
	email, err := notification.NewEmail(notification.EmailConfig{Addr: mb.Addr(), From: "shop@shop.test"})
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, err := notification.New(db, notification.Config{Channels: []notification.Channel{email}, Poll: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := svc.Sync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	worker, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = svc.Run(worker) }()

	n := notification.Notification{ID: "order-7/send_confirmation/do", UserID: "ann", Kind: notification.KindOrderConfirmed,
		Subject: "Your order order-7", Body: "is confirmed.", Data: map[string]string{"email": "ann@shop.test"}}
	for range 2 { // at-least-once delivery of the request
		_, created, err := svc.Notify(ctx, n)
		fmt.Println("new:", created, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r, err := svc.Get(ctx, n.ID); err == nil && r.Deliveries[0].State == notification.StateSent {
			break
		}
	}
	for _, m := range mb.Messages() {
		fmt.Println(m.To, m.Header.Get("Subject"))
	}
	// Output:
	// new: true <nil>
	// new: false <nil>
	// [ann@shop.test] Your order order-7
}
