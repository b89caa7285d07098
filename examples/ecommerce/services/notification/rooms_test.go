package notification_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// hubKey signs the tokens of the hub tests.
var hubKey = []byte("notification-test-key-of-32-bytes-at-least")

// startHub starts a real hub on the development Redis, under a key prefix of
// the test's own, on a loopback server; it returns the hub and its ws:// URL.
func startHub(t *testing.T) (*realtime.Hub, string) {
	t.Helper()
	rdb := env.Redis(t)
	prefix := "notification-test-" + orm.NewUUID().String()[:8]
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
	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: hubKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.Handler())
	t.Cleanup(func() {
		_ = hub.Close()
		srv.Close()
	})
	return hub, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// member is a WebSocket client of the hub, joined in one room.
type member struct {
	t    *testing.T
	conn *websocket.Conn
}

// joinRoom connects to the hub at url as user of tenantID and joins room.
func joinRoom(t *testing.T, url, tenantID, user, room string, roles ...string) *member {
	t.Helper()
	tok, err := realtime.IssueToken(hubKey, realtime.Claims{User: user, Tenant: tenantID, Roles: roles}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"?token="+tok, nil)
	if err != nil {
		t.Fatalf("dial the hub: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	m := &member{t: t, conn: c}
	b, _ := json.Marshal(realtime.Frame{Op: realtime.OpJoin, Room: room})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	if f := m.next(); f.Op != realtime.OpJoined {
		t.Fatalf("join %s: %+v", room, f)
	}
	return m
}

// next reads the member's next frame (bounded by 20 s).
func (m *member) next() realtime.Frame {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(m.t.Context(), 20*time.Second)
	defer cancel()
	_, b, err := m.conn.Read(ctx)
	if err != nil {
		m.t.Fatalf("read a frame: %v", err)
	}
	var f realtime.Frame
	if err := json.Unmarshal(b, &f); err != nil {
		m.t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

// The rooms channel on a real hub: the worker delivers a user's
// notification to that user's room of the notification's tenant, and an
// alert to the tenant's admin room; the same rooms of another tenant get
// nothing (they get a marker sent after, and only that). Without a tenant in
// the context, a broadcast is an error.
func TestHubRooms(t *testing.T) {
	hub, url := startHub(t)
	ch, err := notification.NewRoomsChannel(notification.HubRooms{Hub: hub})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "hub", options{extra: []notification.Channel{ch}})
	other := f.tenant + "-b"
	user := joinRoom(t, url, f.tenant, "u-7", "user:u-7")
	admin := joinRoom(t, url, f.tenant, "root", notification.AdminRoom, "admin")
	otherUser := joinRoom(t, url, other, "u-7", "user:u-7")
	otherAdmin := joinRoom(t, url, other, "root", notification.AdminRoom, "admin")
	f.run(f.svc)

	for _, tc := range []struct {
		m *member
		n notification.Notification
	}{
		{user, notification.Notification{ID: "h-1", UserID: "u-7", Kind: notification.KindOrderStatusUpdate, Subject: "shipped",
			Data: map[string]string{"order_id": "o-1", "status": "shipped"}}},
		{admin, notification.Notification{ID: "h-2", Kind: notification.KindLowStockAlert, Subject: "p-1 low",
			Data: map[string]string{"product_id": "p-1"}}},
	} {
		if _, _, err := f.svc.Notify(f.ctx, tc.n); err != nil {
			t.Fatal(err)
		}
		got := tc.m.next()
		var n notification.Notification
		if err := json.Unmarshal(got.Data, &n); err != nil {
			t.Fatalf("data %s: %v", got.Data, err)
		}
		if got.Op != realtime.OpMessage || got.Type != notification.RoomMessageType || n.ID != tc.n.ID || n.Kind != tc.n.Kind {
			t.Errorf("%s: got %+v", tc.n.ID, got)
		}
		f.waitState(tc.n.ID, "rooms", notification.StateSent)
	}
	octx := tenant.With(t.Context(), other)
	for _, m := range []struct {
		m    *member
		room string
	}{{otherUser, "user:u-7"}, {otherAdmin, notification.AdminRoom}} {
		if err := (notification.HubRooms{Hub: hub}).BroadcastToRoom(octx, m.room, "marker", map[string]string{}); err != nil {
			t.Fatal(err)
		}
		if got := m.m.next(); got.Type != "marker" {
			t.Errorf("tenant %s, room %s: got %+v before the marker", other, m.room, got)
		}
	}
	err = notification.HubRooms{Hub: hub}.BroadcastToRoom(context.Background(), "admin", "marker", nil)
	if !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("broadcast without a tenant: %v, want tenant.ErrNoTenant", err)
	}
}
