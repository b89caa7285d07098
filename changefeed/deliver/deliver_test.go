package deliver_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/changefeed/deliver"
	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("deliver_test")

func TestMain(m *testing.M) { env.Main(m) }

// order is the tests' model that records its changes.
type order struct {
	ID     string `cql:"order_id" orm:"pk"`
	User   string `cql:"user_id"`
	Status string `cql:"status"`
}

func suffix() string { return strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "") }

// fixture is a feed and an orders model on tables of this run, on a tenanted DB.
type fixture struct {
	orders *orm.Model[order]
	subs   changefeed.Subscriber
	run    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	run := suffix()
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + run, Lag: 2 * time.Second}}) // a write has half of it to land, on a busy machine too
	if err != nil {
		t.Fatal(err)
	}
	orders, err := orm.NewModel[order](db, orm.TableName("orders_"+run), orm.RecordChanges(feed))
	if err != nil {
		t.Fatal(err)
	}
	lm, err := lease.New(db, lease.Config{Table: "leases_" + run, TTL: 3 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), append(feed.Models(), orders)...); err != nil {
		t.Fatal(err)
	}
	if err := lm.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &fixture{orders: orders, subs: changefeed.Subscriber{Feed: feed, Leases: lm, Poll: 50 * time.Millisecond}, run: run}
}

// subscribe runs sub in ctx until the test ends.
func (f *fixture) subscribe(t *testing.T, ctx context.Context, sub changefeed.Subscription) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.subs.Subscribe(ctx, sub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscription %s: %v", sub.Name, err)
		}
	})
}

// TestToBus publishes an order's changes to Kafka and reads them back: one
// message per change, with the change's id, its partition as the key, its JSON,
// and its tenant.
func TestToBus(t *testing.T) {
	f := newFixture(t)
	bus, err := kafka.New(kafka.Config{Brokers: env.KafkaBrokers(t), Logger: slog.New(slog.DiscardHandler), FetchMaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Close() })
	topic := "deliver-test-" + f.run
	acme := tenant.With(t.Context(), "acme"+f.run)
	f.subscribe(t, acme, changefeed.Subscription{Name: "to-bus", Table: f.orders.Table().Name,
		Handle: deliver.ToBus(bus, deliver.Topic(topic)), Retry: deliver.Retry()})

	var mu sync.Mutex
	var got []cqrs.Message
	sub, err := bus.Subscribe(t.Context(), topic, "readers-"+f.run, func(_ context.Context, m cqrs.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	if err := f.orders.Insert(acme, &order{ID: "o1", User: "u1", Status: "placed"}); err != nil {
		t.Fatal(err)
	}
	if err := f.orders.Patch(acme, []any{"o1"}, []orm.Change{orm.Set("status", "shipped")}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 60*time.Second, "two messages on the topic", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for i, wantType := range []string{f.orders.Table().Name + ".insert", f.orders.Table().Name + ".update"} {
		m := got[i]
		var c changefeed.Change
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Type != wantType || m.Key != f.orders.Table().Name+"/o1" || m.ID != c.ID.String() || c.ID.IsZero() ||
			m.Metadata[cqrs.MetaTenant] != "acme"+f.run || m.Metadata[deliver.MetaOp] != string(c.Op) {
			t.Errorf("message %d: %+v (change %+v)", i, m, c)
		}
	}
	var c changefeed.Change
	_ = json.Unmarshal(got[1].Payload, &c)
	if c.Values["status"] != "shipped" || c.Key["order_id"] != "o1" {
		t.Errorf("the update's JSON: %s", got[1].Payload)
	}
}

// wsClient is a WebSocket client of a hub, collecting the messages of the
// rooms it joined.
type wsClient struct {
	mu   sync.Mutex
	msgs []realtime.Frame
}

func dial(t *testing.T, url string, key []byte, c realtime.Claims, room string) *wsClient {
	t.Helper()
	tok, err := realtime.IssueToken(key, c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(t.Context(), url+"?token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	if err := wsjson.Write(t.Context(), ws, realtime.Frame{Op: realtime.OpJoin, Room: room}); err != nil {
		t.Fatal(err)
	}
	cl := &wsClient{}
	joined := make(chan struct{})
	go func() {
		for {
			var f realtime.Frame
			if err := wsjson.Read(context.Background(), ws, &f); err != nil {
				return
			}
			switch f.Op {
			case realtime.OpJoined:
				close(joined)
			case realtime.OpMessage:
				cl.mu.Lock()
				cl.msgs = append(cl.msgs, f)
				cl.mu.Unlock()
			}
		}
	}()
	select {
	case <-joined:
	case <-t.Context().Done():
	}
	return cl
}

func (c *wsClient) messages() []realtime.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.Frame(nil), c.msgs...)
}

// TestToRooms broadcasts the changes a filtered subscription selects to the
// order's user's room, in the change's tenant: the user of that tenant gets
// them; the user of the same name in another tenant, whose changes this
// subscription does not read, gets none.
func TestToRooms(t *testing.T) {
	f := newFixture(t)
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: env.Redis(t), Prefix: "deliver-test-" + f.run})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("a test key of at least thirty-two bytes")
	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close() })
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	acmeID, globexID := "acme"+f.run, "globex"+f.run
	acme, globex := tenant.With(t.Context(), acmeID), tenant.With(t.Context(), globexID)
	route := func(c changefeed.Change) []deliver.Broadcast {
		user, _ := c.Value("user_id") // from the row: the update set status only
		status, _ := c.Value("status")
		u, ok := user.(string)
		if !ok {
			return nil
		}
		return []deliver.Broadcast{{Room: "user:" + u, Type: "order_status_update",
			Data: map[string]any{"id": c.ID, "order_id": c.Key["order_id"], "status": status}}}
	}
	f.subscribe(t, acme, changefeed.Subscription{Name: "to-rooms", Table: f.orders.Table().Name, Ops: []orm.ChangeOp{orm.OpUpdate}, ReadRow: true,
		Filter: filter.In("status", "processing", "shipped", "delivered"), Handle: deliver.ToRooms(hub, route), Retry: deliver.Retry()})

	a := dial(t, url, key, realtime.Claims{User: "u1", Tenant: acmeID}, "user:u1")
	g := dial(t, url, key, realtime.Claims{User: "u1", Tenant: globexID}, "user:u1")
	for _, ctx := range []context.Context{acme, globex} {
		if err := f.orders.Insert(ctx, &order{ID: "o1", User: "u1", Status: "placed"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"confirmed", "processing", "shipped"} {
			if err := f.orders.Patch(ctx, []any{"o1"}, []orm.Change{orm.Set("status", s)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	testenv.WaitUntil(t, 30*time.Second, "two status updates in acme's room", func() bool { return len(a.messages()) >= 2 })
	var statuses []string
	for _, m := range a.messages() {
		var d struct{ Status string }
		if err := json.Unmarshal(m.Data, &d); err != nil || m.Type != "order_status_update" {
			t.Fatalf("message %+v: %v", m, err)
		}
		statuses = append(statuses, d.Status)
	}
	if strings.Join(statuses, ",") != "processing,shipped" {
		t.Errorf("acme's user got %q, want processing, shipped", statuses)
	}
	// A broadcast in globex's room reaches its user: had a change been sent
	// there, it would have come first.
	if _, err := hub.Broadcast(globex, "user:u1", "marker", nil); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 30*time.Second, "the marker in globex's room", func() bool { return len(g.messages()) > 0 })
	if m := g.messages(); m[0].Type != "marker" {
		t.Errorf("globex's user got %+v before the marker", m[0])
	}
}

// TestToRoomsNeedsTenant: a change without a tenant, on a subscription whose
// context has none, is refused rather than broadcast anywhere.
func TestToRoomsNeedsTenant(t *testing.T) {
	h := deliver.ToRooms(nil, func(changefeed.Change) []deliver.Broadcast { return []deliver.Broadcast{{Room: "admin", Type: "x"}} })
	err := h(context.Background(), changefeed.Change{Table: "orders"})
	if !errors.Is(err, tenant.ErrNoTenant) || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("got %v", err)
	}
}
