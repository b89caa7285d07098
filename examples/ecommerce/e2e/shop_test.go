package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/browser"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The test uses Cassandra, Redis and Chromium. Its keyspaces are named with
// the package's prefix, so that env.Main drops them.
var env = testenv.New("ecommerce_e2e")

func TestMain(m *testing.M) { env.Main(m) }

// key signs the pages' tokens.
var key = []byte("e2e-test-key-of-at-least-thirty-two-bytes")

// unique returns prefix followed by a random suffix: a name of this run only.
func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// shop is the platform running in the test process, as command shop runs it,
// with the hub and the pages beside the notification service's API, as
// command notifications serves them.
type shop struct {
	t             *testing.T
	hub           *realtime.Hub
	inv, ord, pay string // the inventory, order and payment services' URLs
	site          string // the hub and the pages: http://127.0.0.1:port
	ks            string // the prefix of the services' keyspaces
	invSvc        *inventory.Service
}

// startShop starts the shop for tenants, on keyspaces of the run, until the
// test ends; rec, unless nil, records the statements of each service.
func startShop(t *testing.T, rec *recorder, tenants ...string) *shop {
	t.Helper()
	ctx := t.Context()
	env.Session(t) // the package's keyspace: env.Main then drops the others of its prefix
	ks := env.KeyspacePrefix()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	open := func(name string) *platform.Store { return openStore(t, ks, name, rec) }
	serve := func(st *platform.Store, sync func(context.Context) error, h http.Handler) string {
		return serveStore(t, st, sync, h, tenants...)
	}

	network, err := cardnet.New(cardnet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	netSrv := httptest.NewServer(network.Handler())
	t.Cleanup(netSrv.Close)

	invStore := open("inventory")
	invFeed, err := invStore.NewFeed()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.New(invStore.Tenanted, inventory.Config{Feed: invFeed.Feed})
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{t: t, ks: ks, invSvc: inv, inv: serve(invStore, invFeed.SyncWith(inv.Sync), inv.Handler())}

	payStore := open("payments")
	pay, err := payment.New(payStore.Tenanted, payment.Config{CardNetURL: netSrv.URL, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.pay = serve(payStore, pay.Sync, pay.Handler())

	ordStore := open("orders")
	ordFeed, err := ordStore.NewFeed()
	if err != nil {
		t.Fatal(err)
	}
	orders, err := order.New(ordStore.Tenanted, order.Config{InventoryURL: s.inv, PaymentURL: s.pay,
		Saga: saga.Config{Poll: 50 * time.Millisecond, Log: quiet}, Feed: ordFeed.Feed})
	if err != nil {
		t.Fatal(err)
	}
	s.ord = serve(ordStore, ordFeed.SyncWith(orders.Sync), orders.Handler())

	// The hub, on Redis under a key prefix of the run.
	rdb := env.Redis(t)
	prefix := unique("e2e-test-")
	t.Cleanup(func() {
		ctx := context.Background()
		for iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator(); iter.Next(ctx); {
			rdb.Del(ctx, iter.Val())
		}
	})
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb, Prefix: prefix, HistoryTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if s.hub, err = realtime.New(realtime.Config{Bus: bus, HMACKey: key, Logger: quiet}); err != nil {
		t.Fatal(err)
	}

	// Notifications to the hub's rooms, and the watcher of both feeds.
	ntfStore := open("notifications")
	rooms, err := notification.NewRoomsChannel(notification.HubRooms{Hub: s.hub})
	if err != nil {
		t.Fatal(err)
	}
	notes, err := notification.New(ntfStore.Tenanted, notification.Config{Channels: []notification.Channel{rooms},
		Poll: 100 * time.Millisecond, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := ntfStore.Provision(ctx, notes.Sync, tenants...); err != nil {
		t.Fatal(err)
	}
	api, err := ntfStore.Handler(notes.Handler())
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(platform.Site(s.hub.Handler(), api))
	s.site = site.URL
	watcher, err := notification.NewWatcher(notification.WatcherConfig{Service: notes,
		Orders: ordFeed.Subscriber(), Stock: invFeed.Subscriber(), Tenants: tenants, Log: quiet,
		Reorder: func(ctx context.Context, productID string) error {
			_, _, err := inv.Reorder(ctx, productID)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}

	wctx, stop := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	workers.Go(func() { _ = orders.Run(wctx) })
	workers.Go(func() { _ = notes.Run(wctx) })
	workers.Go(func() {
		if err := watcher.Run(wctx); err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	t.Cleanup(func() {
		stop()
		workers.Wait()
		_ = s.hub.Close()
		site.Close()
	})
	return s
}

// openStore opens the store of service name, on keyspace ks+name, until the
// test ends; rec, unless nil, records its statements.
func openStore(t *testing.T, ks, name string, rec *recorder) *platform.Store {
	t.Helper()
	st, err := platform.Open(t.Context(), ks+name, rec.options(name)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// serveStore provisions tenants in st (running sync) and serves h behind the
// tenant middleware until the test ends; it returns the server's URL.
func serveStore(t *testing.T, st *platform.Store, sync func(context.Context) error, h http.Handler, tenants ...string) string {
	t.Helper()
	if err := st.Provision(t.Context(), sync, tenants...); err != nil {
		t.Fatal(err)
	}
	th, err := st.Handler(h)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(th)
	t.Cleanup(srv.Close)
	return srv.URL
}

// call sends body (JSON, unless nil) to url as a client of tenantID does,
// and returns the answer's body; an answer other than want fails the test.
func (s *shop) call(tenantID, method, url string, body any, want int) []byte {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, url, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Tenant-ID", tenantID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return b
}

// open opens page (/admin or /order) of the site in a new tab of b, named
// name, for user of tenantID with roles.
func (s *shop) open(b *browser.Browser, name, page, tenantID, user string, roles ...string) *browser.Page {
	s.t.Helper()
	tok, err := realtime.IssueToken(key, realtime.Claims{User: user, Tenant: tenantID, Roles: roles}, 10*time.Minute)
	if err != nil {
		s.t.Fatal(err)
	}
	p := b.NewPage()
	p.SetName(name)
	p.Navigate(s.site + page + "#token=" + tok)
	p.WaitText("#state", "live")
	return p
}

// An order placed over the order service's API by a customer whose /order
// page is open: its fulfilment statuses, set over the API, appear on the
// page as they happen, without a reload (the Watcher turns the orders'
// changes into notifications, the worker hands them to the hub). The
// order takes the product's stock below 10: the alert appears on the /admin
// page of the order's tenant, and never on the /admin page of another
// tenant, open meanwhile, which does get a later message of its own.
func TestShop(t *testing.T) {
	ta, tb := unique("e2e-a-"), unique("e2e-b-")
	s := startShop(t, nil, ta, tb)
	b := browser.New(t)
	customer := s.open(b, "order", "/order", ta, "ada")
	admin := s.open(b, "admin", "/admin", ta, "root", "admin")
	otherAdmin := s.open(b, "admin-other-tenant", "/admin", tb, "root", "admin")

	product, orderID := unique("kettle-"), unique("order-")
	s.call(ta, "PUT", s.inv+"/stock/"+product, map[string]int{"on_hand": 12}, http.StatusOK)
	var v order.View
	body := s.call(ta, "POST", s.ord+"/orders?wait=60s", order.PlaceOrder{OrderID: orderID, UserID: "ada",
		Items: []order.Item{{ProductID: product, Quantity: 3, PriceCents: 3999}}, Currency: "EUR", Card: cardnet.CardApprove}, http.StatusOK)
	if err := json.Unmarshal(body, &v); err != nil || v.Status != order.StatusConfirmed {
		t.Fatalf("POST /orders: %s (%v), want the order confirmed", body, err)
	}
	for _, st := range []string{order.StatusProcessing, order.StatusShipped} {
		s.call(ta, "POST", s.ord+"/orders/"+orderID+"/status", map[string]string{"status": st}, http.StatusOK)
		customer.WaitText("#orders li", fmt.Sprintf("order %s: %s", orderID, st))
	}
	if got := customer.Texts("#orders li"); len(got) != 2 || got[1] != fmt.Sprintf("order %s: %s", orderID, order.StatusProcessing) {
		t.Errorf("the order page lists %q, want shipped over processing", got)
	}
	customer.Screenshot("order")

	// 12 on hand, 3 sold: 9 available, below 10.
	admin.WaitText("#alerts li", fmt.Sprintf("%s (%s): 9 left, threshold 9", product, product))
	admin.Screenshot("admin")
	marker := unique("marker-")
	if _, err := s.hub.Broadcast(tenant.With(t.Context(), tb), notification.AdminRoom, web.TypeOrderStatusUpdate,
		web.OrderStatusUpdate{OrderID: marker, Status: "placed"}); err != nil {
		t.Fatal(err)
	}
	otherAdmin.WaitText("#orders li", "order "+marker+": placed")
	if n := otherAdmin.Count("#alerts li"); n != 0 {
		t.Errorf("tenant %s's admin page shows %d alerts: %q", tb, n, otherAdmin.Texts("#alerts li"))
	}
	for _, txt := range otherAdmin.Texts("li") {
		if strings.Contains(txt, product) || strings.Contains(txt, orderID) {
			t.Errorf("tenant %s's admin page shows tenant %s's %q", tb, ta, txt)
		}
	}
	otherAdmin.Screenshot("admin-other-tenant")
}
