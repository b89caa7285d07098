package order_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("order_service_test")

func TestMain(m *testing.M) { env.Main(m) }

// anyTenant serves every valid tenant: the registry is not what these tests are about.
type anyTenant struct{}

func (anyTenant) Active(context.Context, string) error { return nil }

// platform is the order flow's services, each behind the tenant middleware on a
// loopback port, on one tenanted DB.
type platform struct {
	orders    *order.Service
	inventory *inventory.Service
	payments  *payment.Service
	network   *cardnet.Network
	ordersURL string
	db        *orm.DB
}

func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: anyTenant{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(h))
	t.Cleanup(srv.Close)
	return srv.URL
}

// participants are the order flow's participants on one tenanted DB: the card
// network, and the payment and inventory services, each served on loopback, their
// tables synced.
type participants struct {
	db                       *orm.DB
	network                  *cardnet.Network
	payments                 *payment.Service
	inventory                *inventory.Service
	inventoryURL, paymentURL string
}

func startParticipants(t testing.TB, network cardnet.Config) *participants {
	t.Helper()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &participants{}
	if p.db, err = base.WithTenancy(orm.Tenancy{}); err != nil {
		t.Fatal(err)
	}
	if p.network, err = cardnet.New(network); err != nil {
		t.Fatal(err)
	}
	netSrv := httptest.NewServer(p.network.Handler())
	t.Cleanup(netSrv.Close)
	if p.payments, err = payment.New(p.db, payment.Config{CardNetURL: netSrv.URL}); err != nil {
		t.Fatal(err)
	}
	if p.inventory, err = inventory.New(p.db, inventory.Config{}); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []func(context.Context) error{p.payments.Sync, p.inventory.Sync} {
		if err := sync(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	p.inventoryURL, p.paymentURL = serve(t, p.inventory.Handler()), serve(t, p.payments.Handler())
	return p
}

// start runs the platform; mods change the order service's Config.
func start(t testing.TB, mods ...func(*order.Config)) *platform {
	t.Helper()
	ps := startParticipants(t, cardnet.Config{Seed: 9})
	p := &platform{db: ps.db, network: ps.network, payments: ps.payments, inventory: ps.inventory}
	cfg := order.Config{InventoryURL: ps.inventoryURL, PaymentURL: ps.paymentURL,
		Saga: saga.Config{Shards: 4, LeaseTTL: 3 * time.Second, Poll: 50 * time.Millisecond, Lag: 500 * time.Millisecond}}
	for _, mod := range mods {
		mod(&cfg)
	}
	var err error
	p.orders, err = order.New(p.db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.orders.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.ordersURL = serve(t, p.orders.Handler())
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.orders.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	return p
}

func level(t *testing.T, p *platform, ctx context.Context, product string) inventory.Level {
	t.Helper()
	l, err := p.inventory.Get(ctx, product)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// An order end to end: stock reserved then sold, the card charged once and the
// ledger balanced, the order confirmed and its notification recorded; a declined
// card and a product out of stock compensate and leave the stock as it was.
func TestOrderFlow(t *testing.T) {
	p := start(t)
	ctx := tenant.With(t.Context(), "acme")
	run := orm.NewUUID().String()[:8]
	p1, p2 := "kettle-"+run, "mug-"+run
	for product, n := range map[string]int{p1: 10, p2: 5} {
		if _, err := p.inventory.SetStock(ctx, product, n); err != nil {
			t.Fatal(err)
		}
	}
	items := []order.Item{{ProductID: p1, Quantity: 2, PriceCents: 2500}, {ProductID: p2, Quantity: 1, PriceCents: 800}}
	tests := []struct {
		name, card string
		items      []order.Item
		status     string
		reasonHas  string
		onHand     map[string]int
		charged    bool
	}{
		{"approved", cardnet.CardApprove, items, order.StatusConfirmed, "", map[string]int{p1: 8, p2: 4}, true},
		{"declined card", cardnet.CardDecline, items, "failed", "402", map[string]int{p1: 8, p2: 4}, false},
		{"out of stock", cardnet.CardApprove, []order.Item{{ProductID: p1, Quantity: 100, PriceCents: 1}}, "failed", "validate_inventory", map[string]int{p1: 8, p2: 4}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("order-%s-%d", run, i)
			before := p.network.Stats()
			if err := p.orders.Place(ctx, order.PlaceOrder{OrderID: id, UserID: "ada", Items: tc.items, Currency: "EUR", Card: tc.card}); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			v, err := p.orders.Wait(wctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tc.status || !strings.Contains(v.Reason, tc.reasonHas) {
				t.Fatalf("order %s: %s (%s), want %s mentioning %q", id, v.Status, v.Reason, tc.status, tc.reasonHas)
			}
			for product, want := range tc.onHand {
				if l := level(t, p, ctx, product); l.OnHand != want || l.Available != want || l.Held != 0 {
					t.Fatalf("%s: on hand %d, available %d, held %d; want %d, %d, 0", product, l.OnHand, l.Available, l.Held, want, want)
				}
			}
			after := p.network.Stats()
			if got := after.Approved - before.Approved; (got == 1) != tc.charged || got > 1 {
				t.Fatalf("%d approved charges at the network, charged=%v", got, tc.charged)
			}
			pay, err := p.payments.Get(ctx, order.PaymentID(id))
			switch {
			case tc.charged && (err != nil || pay.Status != payment.StatusApproved || pay.AmountCents != 5800):
				t.Fatalf("payment %+v, %v", pay, err)
			case tc.status == order.StatusConfirmed && (v.Order == nil || v.Order.Status != order.StatusConfirmed):
				t.Fatalf("order row %+v", v.Order)
			case tc.status == "failed" && v.Order != nil && v.Order.Status != order.StatusCancelled:
				t.Fatalf("a failed order's row is %s", v.Order.Status)
			}
		})
	}
	merchant, err := p.payments.Balance(ctx, payment.MerchantAccount("EUR"))
	if err != nil || merchant != 5800 {
		t.Fatalf("merchant balance %d, %v; want 5800", merchant, err)
	}
	balances, err := p.payments.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, b := range balances {
		sum += b
	}
	if sum != 0 {
		t.Fatalf("the ledger sums to %d: %v", sum, balances)
	}
}

// 50 concurrent orders for the last 10 units of a product: exactly 10 are
// confirmed and charged, 40 fail and compensate, and nothing is oversold.
func TestLastUnits(t *testing.T) {
	p := start(t)
	ctx := tenant.With(t.Context(), "acme")
	run := orm.NewUUID().String()[:8]
	product := "lamp-" + run
	if _, err := p.inventory.SetStock(ctx, product, 10); err != nil {
		t.Fatal(err)
	}
	before := p.network.Stats()
	const n = 50
	var wg sync.WaitGroup
	views := make([]order.View, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("last-%s-%02d", run, i)
			if errs[i] = p.orders.Place(ctx, order.PlaceOrder{OrderID: id, UserID: "u", Items: []order.Item{{ProductID: product, Quantity: 1, PriceCents: 1000}},
				Currency: "EUR", Card: cardnet.CardApprove}); errs[i] != nil {
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			views[i], errs[i] = p.orders.Wait(wctx, id)
		}()
	}
	wg.Wait()
	confirmed := 0
	for i, v := range views {
		if errs[i] != nil {
			t.Fatalf("order %d: %v", i, errs[i])
		}
		switch v.Status {
		case order.StatusConfirmed:
			confirmed++
		case "failed":
		default:
			t.Fatalf("order %d ended %s", i, v.Status)
		}
	}
	l := level(t, p, ctx, product)
	if confirmed != 10 || l.OnHand != 0 || l.Available != 0 || l.Held != 0 {
		t.Fatalf("%d confirmed; on hand %d, available %d, held %d; want 10 and 0, 0, 0", confirmed, l.OnHand, l.Available, l.Held)
	}
	if got := p.network.Stats().Approved - before.Approved; got != 10 {
		t.Fatalf("%d charges approved, want 10", got)
	}
}

// The HTTP API: an order placed and waited for, a validation failure with field
// details, a duplicate id, an unknown order, and a request without a tenant.
func TestHTTP(t *testing.T) {
	p := start(t)
	ctx := tenant.With(t.Context(), "acme")
	run := orm.NewUUID().String()[:8]
	product := "chair-" + run
	if _, err := p.inventory.SetStock(ctx, product, 3); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, tenantID, body string) (int, map[string]any) {
		req, err := http.NewRequestWithContext(t.Context(), method, p.ordersURL+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		if tenantID != "" {
			req.Header.Set("X-Tenant-ID", tenantID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode, out
	}
	body := fmt.Sprintf(`{"order_id":"web-%s","user_id":"ada","currency":"EUR","card":"%s","items":[{"product_id":"%s","quantity":1,"price_cents":4900}]}`,
		run, cardnet.CardApprove, product)
	if code, out := do("POST", "/orders?wait=60s", "acme", body); code != 200 || out["status"] != order.StatusConfirmed {
		t.Fatalf("POST /orders?wait: %d %v", code, out)
	}
	if code, out := do("GET", "/orders/web-"+run, "acme", ""); code != 200 || out["status"] != order.StatusConfirmed || out["order"] == nil {
		t.Fatalf("GET: %d %v", code, out)
	}
	if code, _ := do("POST", "/orders", "acme", body); code != 409 {
		t.Fatalf("a duplicate order id: %d, want 409", code)
	}
	code, out := do("POST", "/orders", "acme", `{"order_id":"","user_id":"ada","currency":"EURO","items":[{"product_id":"x","quantity":0}]}`)
	fields, _ := out["fields"].(map[string]any)
	if code != 400 || fields["order_id"] == nil || fields["currency"] == nil || fields["items[0].quantity"] == nil || fields["card"] == nil {
		t.Fatalf("an invalid order: %d %v", code, out)
	}
	if code, _ := do("GET", "/orders/none-"+run, "acme", ""); code != 404 {
		t.Fatalf("an unknown order: %d, want 404", code)
	}
	if code, _ := do("GET", "/orders/web-"+run, "globex", ""); code != 404 {
		t.Fatalf("another tenant's order: %d, want 404", code)
	}
	if code, _ := do("GET", "/orders/web-"+run, "", ""); code != 400 {
		t.Fatalf("no tenant: %d, want 400", code)
	}
	if _, err := p.orders.Get(t.Context(), "web-"+run); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("Get without a tenant: %v", err)
	}
}
