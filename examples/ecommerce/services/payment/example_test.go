package payment_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// The service on a DB without tenancy (one shop), charging through a simulated
// network: a charge delivered twice is made once, and its refund takes the merchant's
// balance back to 0.
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

	network, err := cardnet.New(cardnet.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(network.Handler())
	defer srv.Close()
	svc, err := payment.New(db, payment.Config{CardNetURL: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := svc.Sync(ctx); err != nil {
		fmt.Println(err)
		return
	}

	id := "order-7/process_payment" // the saga's branch
	req := payment.ChargeRequest{OrderID: "order-7", AmountCents: 4999, Currency: "EUR", Card: cardnet.CardApprove}
	for range 2 { // at-least-once delivery
		p, err := svc.Charge(ctx, id, req)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.Status, p.AmountCents, p.Currency)
	}
	merchant, _ := svc.Balance(ctx, payment.MerchantAccount("EUR"))
	fmt.Println("charges at the network:", network.Stats().Charges, "merchant:", merchant)

	p, err := svc.Refund(ctx, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	merchant, _ = svc.Balance(ctx, payment.MerchantAccount("EUR"))
	fmt.Println(p.Status, "merchant:", merchant)
	// Output:
	// approved 4999 EUR
	// approved 4999 EUR
	// charges at the network: 1 merchant: 4999
	// refunded merchant: 0
}
