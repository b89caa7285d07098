package web_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/browser"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// An administrator's page goes live in the room "admin" and lists the
// alerts and order updates broadcast there, newest first, each with its
// message id.
func TestAdminPage(t *testing.T) {
	s := newSite(t, nil, nil)
	tn := unique("shop-")
	p := s.open(browser.New(t), "admin", "/admin", "", token(t, tn, "root", "admin"))
	p.WaitText("#state", "live")

	a1 := s.broadcast(tn, "admin", web.TypeLowStockAlert, web.LowStockAlert{ProductID: "p-1", Name: "Teapot", Quantity: 2, Threshold: 5})
	o1 := s.broadcast(tn, "admin", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "shipped"})
	a2 := s.broadcast(tn, "admin", web.TypeLowStockAlert, web.LowStockAlert{ProductID: "p-2", Name: "Kettle", Quantity: 0, Threshold: 3})
	p.WaitCount("#alerts li", 2)
	p.WaitCount("#orders li", 1)
	if got, want := p.Texts("#alerts li"), []string{"Kettle (p-2): 0 left, threshold 3", "Teapot (p-1): 2 left, threshold 5"}; !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
	if got := p.Attrs("#alerts li", "data-id"); !slices.Equal(got, []string{a2, a1}) {
		t.Errorf("alert ids %v, want %v (newest first)", got, []string{a2, a1})
	}
	if got := p.Text("#alerts li .quantity"); got != "0" {
		t.Errorf("newest alert's quantity %q", got)
	}
	if got := p.Text("#orders li"); got != "order o-1: shipped" {
		t.Errorf("order %q", got)
	}
	if got := p.Attrs("#orders li", "data-id"); !slices.Equal(got, []string{o1}) {
		t.Errorf("order ids %v, want %v", got, []string{o1})
	}
	noViolations(t, p)
	p.Screenshot("admin")
}

// A customer's page lists their own order updates and notifications, never
// another user's: the other user's message is broadcast first, and is
// checked for once a later message of the customer's has arrived.
func TestOrderPage(t *testing.T) {
	s := newSite(t, nil, nil)
	tn := unique("shop-")
	p := s.open(browser.New(t), "order", "/order", "", token(t, tn, "u1"))
	p.WaitText("#state", "live")

	s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "confirmed"})
	p.WaitText("#orders li", "order o-1: confirmed")
	other := s.broadcast(tn, "user:u2", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-2", Status: "confirmed"})
	s.broadcast(tn, "user:u1", web.TypeNotification, map[string]any{"id": "n-1", "kind": "order_confirmed", "subject": "Order o-1 confirmed", "body": "Thank you"})
	s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "shipped"})
	// An alert is for the administrators: the order page does not list it.
	s.broadcast(tn, "user:u1", web.TypeLowStockAlert, web.LowStockAlert{ProductID: "p-1", Name: "Teapot"})
	last := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "delivered"})
	p.WaitFor(fmt.Sprintf("#orders li[data-id=%q]", last))

	if got, want := p.Texts("#orders li"), []string{"order o-1: delivered", "order o-1: shipped", "order o-1: confirmed"}; !slices.Equal(got, want) {
		t.Errorf("orders %q, want %q", got, want)
	}
	if got := p.Texts("#notifications li"); !slices.Equal(got, []string{"Order o-1 confirmed: Thank you"}) {
		t.Errorf("notifications %q", got)
	}
	if n := p.Count(`[data-room="user:u2"]`) + p.Count(fmt.Sprintf(`li[data-id=%q] .order`, other)); n != 0 {
		t.Errorf("user u2's message %s is on u1's page: %q", other, p.Texts("li"))
	}
	if n := p.Count("[data-type=low_stock_alert]"); n != 0 {
		t.Errorf("%d alerts on the order page", n)
	}
	noViolations(t, p)
	p.Screenshot("order")
}

// Two tenants with the same room names: each page sees only its tenant's
// messages.
func TestTenantIsolation(t *testing.T) {
	s := newSite(t, nil, nil)
	ta, tb := unique("shop-a-"), unique("shop-b-")
	b := browser.New(t)
	admins := map[string]*browser.Page{
		ta: s.open(b, "admin-a", "/admin", "", token(t, ta, "root", "admin")),
		tb: s.open(b, "admin-b", "/admin", "", token(t, tb, "root", "admin")),
	}
	users := map[string]*browser.Page{
		ta: s.open(b, "order-a", "/order", "", token(t, ta, "u1")),
		tb: s.open(b, "order-b", "/order", "", token(t, tb, "u1")),
	}
	for _, p := range []*browser.Page{admins[ta], admins[tb], users[ta], users[tb]} {
		p.WaitText("#state", "live")
	}
	ids := map[string][]string{} // tenant: the ids of its messages
	for _, tn := range []string{ta, tb} {
		ids[tn] = append(ids[tn],
			s.broadcast(tn, "admin", web.TypeLowStockAlert, web.LowStockAlert{ProductID: "p-" + tn, Name: "Teapot of " + tn, Quantity: 1, Threshold: 2}),
			s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-" + tn, Status: "shipped"}))
	}
	// A last message to each room of each tenant, in the other order: once a
	// page has it, the other tenant's earlier messages would have come too.
	for _, tn := range []string{tb, ta} {
		ids[tn] = append(ids[tn],
			s.broadcast(tn, "admin", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "last-" + tn, Status: "placed"}),
			s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "last-" + tn, Status: "placed"}))
	}
	for tn, other := range map[string]string{ta: tb, tb: ta} {
		a, u := admins[tn], users[tn]
		a.WaitText("#orders li", "order last-"+tn+": placed")
		u.WaitText("#orders li", "order last-"+tn+": placed")
		if got := a.Texts("#alerts li"); !slices.Equal(got, []string{fmt.Sprintf("Teapot of %s (p-%s): 1 left, threshold 2", tn, tn)}) {
			t.Errorf("tenant %s admin alerts %q", tn, got)
		}
		if got := u.Texts("#orders li"); !slices.Equal(got, []string{"order last-" + tn + ": placed", "order o-" + tn + ": shipped"}) {
			t.Errorf("tenant %s user orders %q", tn, got)
		}
		for _, p := range []*browser.Page{a, u} {
			for _, txt := range p.Texts("li") {
				if strings.Contains(txt, other) {
					t.Errorf("%s shows tenant %s's %q", p.Name(), other, txt)
				}
			}
		}
	}
	for _, p := range []*browser.Page{admins[ta], admins[tb], users[ta], users[tb]} {
		noViolations(t, p)
		p.Screenshot(p.Name())
	}
}

// The page says "refused" when the hub refuses it: a token that is
// missing or badly signed (401), a page of an origin the hub does not
// allow (403), a user who may not join the page's room (a forbidden join).
// A control with the origin allowed goes live, so the origin case is
// refused for its origin.
func TestRefused(t *testing.T) {
	tn := unique("shop-")
	b := browser.New(t)
	s := newSite(t, nil, nil)
	other := newSite(t, nil, nil) // serves the pages from another origin (another port)
	otherURL, err := url.Parse(other.URL)
	if err != nil {
		t.Fatal(err)
	}
	allowing := newSite(t, func(c *realtime.Config) { c.AllowedOrigins = []string{otherURL.Host} }, nil)
	wrongKey, err := realtime.IssueToken([]byte("another-key-of-at-least-thirty-two-bytes"), realtime.Claims{User: "u1", Tenant: tn}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	hubOf := func(s *site) string { return "ws=" + url.QueryEscape("ws"+s.URL[len("http"):]+"/ws") }
	for _, tc := range []struct {
		name, path, query, tok string
		state, detail          string
	}{
		{name: "no-token", path: "/order", state: "refused", detail: "the hub answered 401 (no valid token)"},
		{name: "bad-signature", path: "/order", tok: wrongKey, state: "refused", detail: "the hub answered 401 (no valid token)"},
		{name: "not-admin", path: "/admin", tok: token(t, tn, "u1"), state: "refused", detail: "join admin: forbidden"},
		{name: "other-origin", path: "/order", query: hubOf(s), tok: token(t, tn, "u1"), state: "refused"},
		{name: "other-origin-allowed", path: "/order", query: hubOf(allowing), tok: token(t, tn, "u1"), state: "live"},
	} {
		site := s
		if tc.query != "" {
			site = other
		}
		p := site.open(b, tc.name, tc.path, tc.query, tc.tok)
		p.WaitText("#state", tc.state)
		if tc.detail != "" {
			p.WaitText("#detail", tc.detail)
		}
		p.Screenshot(tc.name)
	}
}

// A page whose connection drops reconnects and resumes its room from the
// last message it has: what was broadcast while it was away appears once,
// and the page is live again.
func TestResume(t *testing.T) {
	s := newSite(t, nil, nil)
	tn := unique("shop-")
	p := s.open(browser.New(t), "order", "/order", "", token(t, tn, "u1"))
	p.WaitText("#state", "live")
	first := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "confirmed"})
	p.WaitCount("#orders li", 1)

	// The hub's endpoint refuses new connections (503) and the page's socket
	// is cut: the page tries again and again meanwhile.
	s.ws.close()
	p.WaitText("#state", "connecting")
	p.WaitConsole("503") // a reconnection was refused while away
	missed := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "shipped"})
	s.ws.open()

	p.WaitText("#state", "live")
	p.WaitCount("#orders li", 2)
	live := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "delivered"})
	p.WaitCount("#orders li", 3)
	if got, want := p.Attrs("#orders li", "data-id"), []string{live, missed, first}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v: each message once, newest first", got, want)
	}
	if got, want := p.Texts("#orders li"), []string{"order o-1: delivered", "order o-1: shipped", "order o-1: confirmed"}; !slices.Equal(got, want) {
		t.Errorf("orders %q, want %q", got, want)
	}
	if p.Count("#gap") != 0 {
		t.Errorf("a gap notice: %q", p.Text("#gap"))
	}
	noViolations(t, p)
	p.Screenshot("resumed")
}

// A page that was away longer than the room's history keeps is told so
// (#gap), and is live again from the hub's last message on.
func TestGap(t *testing.T) {
	const history = 2
	s := newSite(t, nil, func(c *realtime.RedisConfig) { c.HistorySize = history })
	tn := unique("shop-")
	p := s.open(browser.New(t), "admin", "/admin", "", token(t, tn, "root", "admin"))
	p.WaitText("#state", "live")
	s.broadcast(tn, "admin", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-0", Status: "placed"})
	p.WaitCount("#orders li", 1)

	s.ws.close()
	p.WaitText("#state", "connecting")
	for i := range history + 1 {
		s.broadcast(tn, "admin", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: fmt.Sprintf("o-%d", i+1), Status: "placed"})
	}
	s.ws.open()
	p.WaitFor("#gap")
	p.WaitText("#state", "live")
	s.broadcast(tn, "admin", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-after", Status: "placed"})
	p.WaitText("#orders li", "order o-after: placed")
	if got := p.Texts("#orders li"); !slices.Equal(got, []string{"order o-after: placed", "order o-0: placed"}) {
		t.Errorf("orders %q: want the one after the gap and the one before", got)
	}
	p.Screenshot("gap")
}

// The notification service's notifications of the kinds low_stock_alert and
// order_status_update (the Watcher's) are shown as alerts and order updates,
// from their data: on /admin an alert, on /order an order update, not a
// notification.
func TestNotificationKinds(t *testing.T) {
	s := newSite(t, nil, nil)
	tn := unique("shop-")
	b := browser.New(t)
	admin := s.open(b, "admin", "/admin", "", token(t, tn, "root", "admin"))
	user := s.open(b, "order", "/order", "", token(t, tn, "u1"))
	admin.WaitText("#state", "live")
	user.WaitText("#state", "live")

	alert := notification.Notification{ID: "change/1", Kind: notification.KindLowStockAlert, Subject: "Low stock: p-1 has 3 left",
		Data: map[string]string{"product_id": "p-1", "name": "p-1", "quantity": "3", "threshold": "9"}}
	update := notification.Notification{ID: "change/2", UserID: "u1", Kind: notification.KindOrderStatusUpdate, Subject: "Your order o-1 is shipped",
		Data: map[string]string{"order_id": "o-1", "status": "shipped"}}
	a := s.broadcast(tn, notification.AdminRoom, notification.RoomMessageType, alert)
	u := s.broadcast(tn, "user:u1", notification.RoomMessageType, update)
	admin.WaitFor(fmt.Sprintf("#alerts li[data-id=%q]", a))
	user.WaitFor(fmt.Sprintf("#orders li[data-id=%q]", u))
	if got := admin.Texts("#alerts li"); !slices.Equal(got, []string{"p-1 (p-1): 3 left, threshold 9"}) {
		t.Errorf("alerts %q", got)
	}
	if got := user.Texts("#orders li"); !slices.Equal(got, []string{"order o-1: shipped"}) {
		t.Errorf("orders %q", got)
	}
	if n := user.Count("#notifications li"); n != 0 {
		t.Errorf("%d notifications listed, want the update in the orders only", n)
	}
	noViolations(t, admin)
	noViolations(t, user)
}
