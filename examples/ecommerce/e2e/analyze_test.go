package e2e_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/cassandraorm/cassandraorm-go/analyze"
	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

// recorder keeps the distinct statements (by analyze.Normalize) that each
// service's store runs. It is safe for concurrent use.
type recorder struct {
	mu sync.Mutex
	by map[string]map[string]*recorded // service -> normalised text
}

// recorded is one distinct statement of a service.
type recorded struct {
	text   string // as the ORM ran it the first time
	op     string // orm.QueryEvent.Op
	count  int
	errors int
}

func newRecorder() *recorder { return &recorder{by: map[string]map[string]*recorded{}} }

// options returns the platform.Open options that record the statements of
// service; none for a nil recorder.
func (r *recorder) options(service string) []platform.OpenOption {
	if r == nil {
		return nil
	}
	return []platform.OpenOption{platform.WithObserver(orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
		// A batch is recorded as the statements in it (each analysed on its
		// own); one reported without them is kept as the summary, which the
		// test refuses.
		texts, op := []string{e.Statement}, e.Op
		if e.Op == "batch" && len(e.Statements) > 0 {
			texts, op = e.Statements, "in batch"
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		m := r.by[service]
		if m == nil {
			m = map[string]*recorded{}
			r.by[service] = m
		}
		for _, text := range texts {
			norm := analyze.Normalize(text)
			st := m[norm]
			if st == nil {
				st = &recorded{text: text, op: op}
				m[norm] = st
			}
			st.count++
			if e.Err != nil {
				st.errors++
			}
		}
	}))}
}

// statements returns a copy of service's statements, by normalised text.
func (r *recorder) statements(service string) map[string]recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]recorded{}
	for k, v := range r.by[service] {
		out[k] = *v
	}
	return out
}

// allowedScans are the statements of the platform that read more than the
// partitions they name, on purpose, keyed by service and normalised statement
// (the keyspace part of the test's prefix replaced by KS), with the reason.
var allowedScans = map[string]map[string]string{} // none: recommend.Train walks interaction_users

// untouchedTables are the tables of the services' keyspaces that the flows of
// TestAnalyzePlatformStatements do not reach, with the reason; any other
// table left untouched fails the test, so that the analysis keeps covering
// every table the platform uses.
var untouchedTables = map[string]string{
	"es_snapshots":  "the event store creates it, but the user service's repository has no snapshot policy (eventsourcing.RepositoryConfig.Snapshots is nil)",
	"tenants_slots": "the tenant registry's slots of keyspace tenants (registry.Config.MaxKeyspaceTenants); the flows' tenant has the partition strategy",
}

// systemKeyspaces are the node's own keyspaces, which the ORM reads to inspect
// the schema (system_schema) and wait for index builds (system_views).
var systemKeyspaces = []string{"system", "system_schema", "system_views", "system_auth", "system_distributed", "system_traces", "system_virtual_schema"}

// TestAnalyzePlatformStatements runs every service of the platform (users,
// products, inventory with its expiry sweeper, orders with their saga,
// payments with the card network, notifications with the watcher and the
// worker) on keyspaces and tenants of the run, drives their main flows over
// their HTTP APIs, records every statement each one's store runs, and analyses
// each distinct one against its keyspace's live schema: none may be refused,
// fail to parse, or read by a filtering scan or a full scan (unless
// allowedScans says why). It prints the tables the statements touch with
// their access paths, and the counts per path.
func TestAnalyzePlatformStatements(t *testing.T) {
	ctx := t.Context()
	rec := newRecorder()
	ta := unique("an-")
	s := startShop(t, rec, ta)
	tctx := tenant.With(ctx, ta)
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The inventory's expiry sweeper, as command inventory runs it.
	sweepCtx, stopSweep := context.WithCancel(tctx)
	sweepDone := make(chan error, 1)
	go func() { sweepDone <- s.invSvc.RunExpiry(sweepCtx) }()
	defer func() {
		stopSweep()
		if err := <-sweepDone; !errors.Is(err, context.Canceled) {
			t.Errorf("RunExpiry: %v", err)
		}
	}()

	users := startUsers(t, s.ks, rec, quiet, ta)
	products, productsURL := startProducts(t, s.ks, rec, ta)

	// Users: create two, update a profile, read them back from the projection.
	ada, bob := unique("ada-"), unique("bob-")
	for _, u := range []string{ada, bob} {
		s.call(ta, "POST", users.url+"/users", user.CreateUser{UserID: u, Email: u + "@example.com", Name: u}, http.StatusCreated)
	}
	if err := users.svc.Commands.Dispatch(tctx, user.UpdateUserProfile{UserID: ada, Name: "Ada Lovelace", Bio: "analyst"}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Minute, func() error { // the projection reads the events one FeedLag behind
		if err := users.svc.CatchUp(tctx); err != nil {
			return err
		}
		p, err := users.svc.Profiles.Get(tctx, ada)
		if err == nil && p.Name != "Ada Lovelace" {
			err = fmt.Errorf("ada's profile has name %q", p.Name)
		}
		return err
	})
	s.call(ta, "GET", users.url+"/users/"+ada, nil, http.StatusOK)
	s.call(ta, "POST", users.url+"/users", user.CreateUser{UserID: ada, Email: "again@example.com", Name: "again"}, http.StatusConflict)

	// Products: a catalogue, indexed from the change feed, searched three
	// ways, similar products, interactions and recommendations.
	catalogue := []product.Product{
		{ID: unique("lamp-"), Name: "Brass desk lamp", Category: "lighting", Brand: "Lumen", PriceCents: 5900, Description: "A brass lamp with an adjustable arm to light your desk."},
		{ID: unique("lamp-"), Name: "Reading floor lamp", Category: "lighting", Brand: "Lumen", PriceCents: 12900, Description: "A tall lamp with a warm light for reading in an armchair."},
		{ID: unique("kettle-"), Name: "Electric kettle", Category: "kitchen", Brand: "Boilo", PriceCents: 3900, Description: "Boils a litre of water for tea in three minutes."},
		{ID: unique("chair-"), Name: "Oak dining chair", Category: "furniture", Brand: "Nordhaus", PriceCents: 8900, Description: "A solid oak chair with a curved backrest."},
	}
	for _, p := range catalogue {
		s.call(ta, "PUT", productsURL+"/products/"+p.ID, p, http.StatusOK)
	}
	testenv.WaitFor(t, 3*time.Minute, func() error {
		for _, p := range catalogue {
			if _, err := products.Similar(tctx, p.ID, 1, false); err != nil {
				return err
			}
		}
		return nil
	})
	for _, q := range []string{"q=desk+lamp&mode=keyword", "q=something+to+read+by&mode=semantic", "q=tea&mode=hybrid&category=kitchen&max_price_cents=5000&limit=3", "q=lamp&min_price_cents=1000"} {
		s.call(ta, "GET", productsURL+"/search?"+q, nil, http.StatusOK)
	}
	s.call(ta, "GET", productsURL+"/products/"+catalogue[0].ID, nil, http.StatusOK)
	s.call(ta, "GET", productsURL+"/products/"+catalogue[0].ID+"/similar?limit=2&same_category=true", nil, http.StatusOK)
	for _, u := range []string{ada, bob} {
		for _, p := range catalogue[:2] {
			s.call(ta, "POST", productsURL+"/users/"+u+"/interactions", map[string]string{"product_id": p.ID, "kind": string(recommend.Purchase)}, http.StatusNoContent)
		}
	}
	s.call(ta, "POST", productsURL+"/users/"+ada+"/interactions", map[string]string{"product_id": catalogue[2].ID, "kind": string(recommend.View)}, http.StatusNoContent)
	if _, err := products.Train(tctx); err != nil {
		t.Fatal(err)
	}
	s.call(ta, "GET", productsURL+"/users/"+bob+"/recommendations?limit=3", nil, http.StatusOK)
	s.call(ta, "GET", productsURL+"/users/"+unique("newcomer-")+"/recommendations", nil, http.StatusOK)
	s.call(ta, "DELETE", productsURL+"/products/"+catalogue[3].ID, nil, http.StatusNoContent)

	// Inventory: stock, a re-order policy, a restock.
	kettle, mug := catalogue[2].ID, unique("mug-")
	s.call(ta, "PUT", s.inv+"/stock/"+kettle, map[string]int{"on_hand": 12}, http.StatusOK)
	s.call(ta, "PUT", s.inv+"/stock/"+mug, map[string]int{"on_hand": 2}, http.StatusOK)
	s.call(ta, "PUT", s.inv+"/stock/"+mug+"/reorder", inventory.ReorderPolicy{AutoReorder: true, Threshold: 1, Quantity: 10}, http.StatusOK)
	s.call(ta, "POST", s.inv+"/stock/"+kettle+"/restock", map[string]int{"quantity": 3}, http.StatusOK)
	s.call(ta, "GET", s.inv+"/stock/"+kettle, nil, http.StatusOK)

	// Orders through the saga: one paid and delivered, one declined
	// (compensated), one for more than is in stock.
	paid, declined, short := unique("order-"), unique("order-"), unique("order-")
	place := func(id, card string, items []order.Item, want string) {
		t.Helper()
		var v order.View
		body := s.call(ta, "POST", s.ord+"/orders?wait=60s", order.PlaceOrder{OrderID: id, UserID: ada, Items: items, Currency: "EUR", Card: card}, http.StatusOK)
		if err := json.Unmarshal(body, &v); err != nil || v.Status != want {
			t.Fatalf("POST /orders %s: %s (%v), want %s", id, body, err, want)
		}
	}
	place(paid, cardnet.CardApprove, []order.Item{{ProductID: kettle, Quantity: 3, PriceCents: 3999}, {ProductID: mug, Quantity: 1, PriceCents: 1250}}, order.StatusConfirmed)
	place(declined, cardnet.CardDecline, []order.Item{{ProductID: kettle, Quantity: 1, PriceCents: 3999}}, "failed")
	place(short, cardnet.CardApprove, []order.Item{{ProductID: mug, Quantity: 50, PriceCents: 1250}}, "failed")
	for _, st := range []string{order.StatusProcessing, order.StatusShipped, order.StatusDelivered} {
		s.call(ta, "POST", s.ord+"/orders/"+paid+"/status", map[string]string{"status": st}, http.StatusOK)
	}
	s.call(ta, "GET", s.ord+"/orders/"+paid, nil, http.StatusOK)
	s.call(ta, "GET", s.pay+"/payments/"+url.PathEscape(order.PaymentID(paid)), nil, http.StatusOK)
	s.call(ta, "GET", s.pay+"/ledger/balances", nil, http.StatusOK)
	s.call(ta, "GET", s.inv+"/stock/"+mug+"/purchase-orders", nil, http.StatusOK)

	// Notifications: the watcher turns the order's statuses into
	// notifications, the worker delivers them; one sent over the API.
	s.call(ta, "POST", s.site+"/notifications", map[string]any{"id": unique("note-"), "user_id": ada, "kind": "welcome", "subject": "Welcome", "body": "Hello"}, http.StatusCreated)
	testenv.WaitFor(t, 2*time.Minute, func() error {
		var got struct {
			Notifications []notification.Record `json:"notifications"`
		}
		if err := json.Unmarshal(s.call(ta, "GET", s.site+"/users/"+ada+"/notifications", nil, http.StatusOK), &got); err != nil {
			return err
		}
		sent := 0
		for _, n := range got.Notifications {
			if len(n.Deliveries) > 0 && !slices.ContainsFunc(n.Deliveries, func(d notification.Delivery) bool { return d.State != notification.StateSent }) {
				sent++
			}
		}
		if sent < 4 { // processing, shipped, delivered, and the welcome
			return fmt.Errorf("%d of ada's %d notifications sent", sent, len(got.Notifications))
		}
		return nil
	})

	// The analysis, service by service, against each keyspace's live schema.
	services := []string{"users", "products", "inventory", "orders", "payments", "notifications"}
	paths := map[analyze.Access]int{}
	total, system, schemaStmts, inBatches := 0, 0, 0, 0
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "service\ttable\tstatements\tpaths")
	for _, svc := range services {
		ks := s.ks + svc
		schema, err := analyze.LoadSchema(ctx, env.Session(t), ks)
		if err != nil {
			t.Fatal(err)
		}
		a, err := analyze.New(schema, analyze.Config{})
		if err != nil {
			t.Fatal(err)
		}
		type use struct {
			n     int
			paths map[string]int
		}
		uses := map[string]*use{}
		for norm, st := range rec.statements(svc) {
			if first, _, _ := strings.Cut(norm, " "); first == "CREATE" || first == "ALTER" || first == "DROP" {
				schemaStmts++
				continue
			}
			if st.op == "batch" {
				t.Errorf("%s: a batch reported without its statements: %q", svc, st.text)
				continue
			}
			parsed, err := analyze.Parse(st.text)
			if err != nil {
				t.Errorf("%s: the analyzer cannot parse %s: %v", svc, st.text, err)
				continue
			}
			switch parsed.Kind() {
			case "SELECT", "INSERT", "UPDATE", "DELETE", "BATCH":
			default:
				schemaStmts++
				continue
			}
			r := a.AnalyzeStatement(parsed, analyze.Options{})
			reports := []*analyze.Report{r}
			if r.Kind == "BATCH" {
				reports = r.Statements
			}
			if onSystem(reports) {
				system++
				continue
			}
			total++
			if st.op == "in batch" {
				inBatches++
			}
			if r.Refused || r.Error != "" {
				t.Errorf("%s: %s: refused %v (%s), error %q", svc, norm, r.Refused, r.Reason, r.Error)
			}
			if st.errors > 0 {
				t.Logf("%s: %d of %d runs of %s failed (as the flows meant, or not: see the services' logs)", svc, st.errors, st.count, norm)
			}
			t.Logf("%s: %s ×%d: %s", svc, r.Access, st.count, norm)
			for _, c := range reports {
				paths[c.Access]++
				name := strings.TrimPrefix(c.Table, ks+".")
				u := uses[name]
				if u == nil {
					u = &use{paths: map[string]int{}}
					uses[name] = u
				}
				u.n++
				u.paths[c.Kind+" "+string(c.Access)]++
				if c.Access == analyze.FilteringScan || c.Access == analyze.FullScan || c.Filtering {
					if why := allowedScans[svc][strings.ReplaceAll(norm, ks+".", "KS.")]; why != "" {
						t.Logf("%s: %s: %s, allowed: %s", svc, norm, c.Access, why)
					} else {
						t.Errorf("%s: %s reads by a %s (filtering %v): %v", svc, norm, c.Access, c.Filtering, c.Findings)
					}
				}
			}
		}
		var names []string
		for _, tb := range schema.Tables {
			names = append(names, tb.Name)
		}
		slices.Sort(names)
		for _, name := range names {
			u := uses[name]
			if u == nil {
				why := untouchedTables[name]
				if why == "" {
					t.Errorf("%s: no statement of the flows touched table %s", svc, name)
				}
				fmt.Fprintf(tw, "%s\t%s\t0\t(not touched: %s)\n", svc, name, why)
				continue
			}
			if why := untouchedTables[name]; why != "" {
				t.Errorf("%s: table %s was touched; take it out of untouchedTables (%s)", svc, name, why)
			}
			var ps []string
			for p, n := range u.paths {
				ps = append(ps, fmt.Sprintf("%s ×%d", p, n))
			}
			slices.Sort(ps)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", svc, name, u.n, strings.Join(ps, ", "))
			delete(uses, name)
		}
		for name := range uses {
			t.Errorf("%s: statements on table %s, which is not in keyspace %s", svc, name, ks)
		}
		if len(rec.statements(svc)) == 0 {
			t.Errorf("service %s ran no statement", svc)
		}
	}
	_ = tw.Flush()
	t.Logf("the platform's statements, by service and table:\n%s", table.String())
	var counts []string
	for p, n := range paths {
		counts = append(counts, fmt.Sprintf("%s %d", p, n))
	}
	slices.SortFunc(counts, func(x, y string) int { return cmp.Compare(x, y) })
	t.Logf("%d distinct data statements analysed (%d of them in batches; %d schema statements and %d reads of system tables skipped); per access path: %s",
		total, inBatches, schemaStmts, system, strings.Join(counts, ", "))
	if total < 40 {
		t.Errorf("only %d distinct data statements recorded", total)
	}
}

// onSystem reports whether the statements read the node's own keyspaces.
func onSystem(reports []*analyze.Report) bool {
	for _, r := range reports {
		ks, _, _ := strings.Cut(r.Table, ".")
		if slices.Contains(systemKeyspaces, ks) {
			return true
		}
	}
	return false
}

// usersService is the user service of a test, and its URL.
type usersService struct {
	svc *user.Service
	url string
}

// startUsers starts the user service (event store, projection and relay, on
// the in-process bus) for tenants on keyspace ks+"users", as command users
// runs it with Kafka, until the test ends.
func startUsers(t *testing.T, ks string, rec *recorder, log *slog.Logger, tenants ...string) usersService {
	t.Helper()
	st := openStore(t, ks, "users", rec)
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	leases, err := lease.New(st.Tenanted, lease.Config{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := user.New(st.Tenanted, bus, leases, eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	sync := func(ctx context.Context) error {
		if err := leases.Sync(ctx); err != nil {
			return err
		}
		return svc.Sync(ctx)
	}
	return usersService{svc: svc, url: serveStore(t, st, sync, svc.Handler(), tenants...)}
}

// startProducts starts the product service with its search indexer for
// tenants on keyspace ks+"products", as command products runs it, until the
// test ends, and returns it with its URL.
func startProducts(t *testing.T, ks string, rec *recorder, tenants ...string) (*product.Service, string) {
	t.Helper()
	st := openStore(t, ks, "products", rec)
	feed, err := st.NewFeed()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := devenv.Load(t.Output())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := dev.MiniLMDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	emb, err := minilm.Load(dir, minilm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := product.New(st.Tenanted, product.Config{Embedder: emb, Feed: feed.Feed, Recommend: &recommend.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	url := serveStore(t, st, feed.SyncWith(svc.Sync), svc.Handler(), tenants...)
	for _, id := range tenants {
		ctx, cancel := context.WithCancel(tenant.With(context.Background(), id))
		done := make(chan error, 1)
		go func() { done <- svc.RunIndexer(ctx, *feed.Subscriber(), "product-search-indexer") }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("search indexer of %s: %v", id, err)
			}
		})
	}
	return svc, url
}
