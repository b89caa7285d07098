package notification_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/mailbox"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("notification_service_test")

func TestMain(m *testing.M) { env.Main(m) }

var (
	dbOnce sync.Once
	tdb    *orm.DB
	dbErr  error
)

// tenantedDB is the tenanted view of the package's DB; each test runs as a
// tenant of its own (per run), with a due index of its own.
func tenantedDB(t *testing.T) *orm.DB {
	t.Helper()
	dbOnce.Do(func() {
		var base *orm.DB
		if base, dbErr = orm.New(env.Session(t), env.Keyspace(), nil); dbErr == nil {
			tdb, dbErr = base.WithTenancy(orm.Tenancy{})
		}
	})
	if dbErr != nil {
		t.Fatal(dbErr)
	}
	return tdb
}

type anyTenant struct{}

func (anyTenant) Active(context.Context, string) error { return nil }

// fixture is one test's service, its mailbox and its API, as tenant.
type fixture struct {
	t      *testing.T
	ctx    context.Context // with the tenant
	tenant string
	mail   *mailbox.Mailbox
	email  *notification.Email
	svc    *notification.Service
	api    string
}

type options struct {
	smtpAddr string                 // default: the fixture's mailbox
	extra    []notification.Channel // besides e-mail
	cfg      notification.Config
}

// fastBackoff spaces a test's attempts by a few milliseconds.
var fastBackoff = retry.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}

func newFixture(t *testing.T, tenantID string, o options) *fixture {
	t.Helper()
	tenantID += "-" + strings.ReplaceAll(orm.NewUUID().String()[:6], "-", "") // a tenant of this run: -count=N reruns from scratch
	f := &fixture{t: t, tenant: tenantID, ctx: tenant.With(t.Context(), tenantID)}
	var err error
	if f.mail, err = mailbox.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.mail.Close() })
	if o.smtpAddr == "" {
		o.smtpAddr = f.mail.Addr()
	}
	if f.email, err = notification.NewEmail(notification.EmailConfig{Addr: o.smtpAddr, From: "shop@shop.test"}); err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	cfg.Channels = append([]notification.Channel{f.email}, o.extra...)
	cfg.DueTable = "due_" + strings.ReplaceAll(tenantID, "-", "_")
	if cfg.Backoff == (retry.Backoff{}) {
		cfg.Backoff = fastBackoff
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	f.svc = f.newService(cfg)
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: anyTenant{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(f.svc.Handler()))
	t.Cleanup(srv.Close)
	f.api = srv.URL
	return f
}

// newService is another process of the fixture's service (same tables).
func (f *fixture) newService(cfg notification.Config) *notification.Service {
	f.t.Helper()
	svc, err := notification.New(tenantedDB(f.t), cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := svc.Sync(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// run runs a worker of svc until the test ends or the returned stop is called,
// which waits for it to return.
func (f *fixture) run(svc *notification.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			f.t.Error(err)
		}
	}()
	stop = func() { cancel(); <-done }
	f.t.Cleanup(stop)
	return stop
}

// post sends a notification to the API, with header key if not empty, and
// returns the status and the decoded body.
func (f *fixture) post(body any, key string) (int, map[string]any) {
	f.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), "POST", f.api+"/notifications", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Tenant-ID", f.tenant)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return f.do(req)
}

func (f *fixture) get(path string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), "GET", f.api+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Tenant-ID", f.tenant)
	return f.do(req)
}

func (f *fixture) do(req *http.Request) (int, map[string]any) {
	f.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		f.t.Fatalf("%s %s: %d, decoding: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// waitState waits until notification id's delivery on channel is in state,
// and returns it.
func (f *fixture) waitState(id, channel, state string) notification.Delivery {
	f.t.Helper()
	var got notification.Delivery
	testenv.WaitFor(f.t, 20*time.Second, func() error {
		r, err := f.svc.Get(f.ctx, id)
		if err != nil {
			return err
		}
		for _, d := range r.Deliveries {
			if d.Channel == channel {
				got = d
				if d.State == state {
					return nil
				}
				return fmt.Errorf("delivery %s of %s is %s (attempts %d, last error %q), want %s", channel, id, d.State, d.Attempts, d.LastError, state)
			}
		}
		return fmt.Errorf("no delivery %s of %s", channel, id)
	})
	return got
}

func confirmation(id string) map[string]any {
	return map[string]any{"id": id, "user_id": "u-1", "kind": notification.KindOrderConfirmed,
		"subject": "Order o-1 confirmé", "body": "Your order o-1 is confirmed.\nThank you.", "data": map[string]string{"email": "Ann <ann@shop.test>", "order_id": "o-1"}}
}

// A notification posted twice, once with its id in the Idempotency-Key header
// only, is recorded and mailed once, with the headers and body it should have;
// a mismatching header is refused.
func TestNotifyOnce(t *testing.T) {
	f := newFixture(t, "once", options{})
	f.run(f.svc)
	id := "o-1/send_confirmation/do"
	if status, body := f.post(confirmation(id), id); status != http.StatusCreated {
		t.Fatalf("first post: %d %v", status, body)
	}
	n := confirmation("")
	if status, body := f.post(n, id); status != http.StatusOK || body["id"] != id {
		t.Fatalf("second post: %d %v, want 200 with the id", status, body)
	}
	if status, body := f.post(confirmation(id), "other"); status != http.StatusBadRequest || body["fields"].(map[string]any)["Idempotency-Key"] == nil {
		t.Fatalf("mismatching key: %d %v", status, body)
	}
	d := f.waitState(id, "email", notification.StateSent)
	if d.Attempts != 1 || d.Target != "Ann <ann@shop.test>" || d.SentAt.IsZero() {
		t.Errorf("delivery %+v", d)
	}
	testenv.WaitUntil(t, 5*time.Second, "one message", func() bool { return len(f.mail.Messages()) >= 1 })
	msgs := f.mail.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	for _, c := range []struct{ what, got, want string }{
		{"envelope from", m.From, "shop@shop.test"},
		{"envelope to", strings.Join(m.To, ","), "ann@shop.test"},
		{"To", m.Header.Get("To"), `"Ann" <ann@shop.test>`},
		{"Subject", subject, "Order o-1 confirmé"},
		{"Message-ID", m.Header.Get("Message-ID"), f.email.MessageID(id)},
		{"Content-Type", m.Header.Get("Content-Type"), "text/plain; charset=utf-8"},
		{"body", strings.TrimSpace(string(m.Body)), "Your order o-1 is confirmed.\r\nThank you."},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	status, body := f.get("/users/u-1/notifications?limit=5")
	if list, _ := body["notifications"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Errorf("user's notifications: %d %v", status, body)
	}
	status, body = f.get("/notifications/" + strings.ReplaceAll(id, "/", "%2F"))
	if ds, _ := body["deliveries"].([]any); status != http.StatusOK || len(ds) != 1 || ds[0].(map[string]any)["state"] != "sent" {
		t.Errorf("get: %d %v", status, body)
	}
	if status, _ := f.get("/notifications/nope"); status != http.StatusNotFound {
		t.Errorf("unknown id: %d, want 404", status)
	}
}

// Invalid requests get 400 with the fields at fault, and record nothing.
func TestInvalid(t *testing.T) {
	f := newFixture(t, "invalid", options{})
	long := strings.Repeat("x", notification.MaxSubjectLen+1)
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"no id", map[string]any{"user_id": "u", "kind": "order_confirmed", "subject": "s"}, "id"},
		{"no user", map[string]any{"id": "a", "kind": "order_confirmed", "subject": "s"}, "user_id"},
		{"no kind", map[string]any{"id": "a", "user_id": "u", "subject": "s"}, "kind"},
		{"bad kind", map[string]any{"id": "a", "user_id": "u", "kind": "Order Confirmed", "subject": "s"}, "kind"},
		{"no subject", map[string]any{"id": "a", "user_id": "u", "kind": "order_confirmed"}, "subject"},
		{"long subject", map[string]any{"id": "a", "user_id": "u", "kind": "order_confirmed", "subject": long}, "subject"},
		{"header injection", map[string]any{"id": "a", "user_id": "u", "kind": "order_confirmed", "subject": "s\r\nBcc: x@y"}, "subject"},
		{"control in id", map[string]any{"id": "a\x00", "user_id": "u", "kind": "order_confirmed", "subject": "s"}, "id"},
		{"empty data key", map[string]any{"id": "a", "user_id": "u", "kind": "order_confirmed", "subject": "s", "data": map[string]string{"": "v"}}, "data"},
		{"number as user", map[string]any{"id": "a", "user_id": 7, "kind": "order_confirmed", "subject": "s"}, "user_id"},
		{"unknown field", map[string]any{"id": "a", "user_id": "u", "kind": "order_confirmed", "subject": "s", "to": "x"}, "body"},
		{"not an object", []int{1}, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.post(c.body, "")
			fields, _ := body["fields"].(map[string]any)
			if status != http.StatusBadRequest || fields[c.field] == nil {
				t.Errorf("%d %v, want 400 naming %s", status, body, c.field)
			}
		})
	}
	if status, _ := f.get("/notifications/a"); status != http.StatusNotFound {
		t.Errorf("an invalid request was recorded: %d", status)
	}
	if status, body := f.get("/users/u/notifications?limit=0"); status != http.StatusBadRequest {
		t.Errorf("limit 0: %d %v", status, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", f.api+"/notifications", strings.NewReader(`{}`))
	if status, body := f.do(req); status != http.StatusBadRequest {
		t.Errorf("no tenant: %d %v", status, body)
	}
}

// receiver is a webhook receiver answering the statuses of answers in turn
// (then the last one), verifying each request's signature.
type receiver struct {
	t       *testing.T
	secret  []byte
	answers []int
	mu      sync.Mutex
	calls   []http.Header
	bodies  [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !notification.VerifySignature(rc.secret, body, r.Header.Get(notification.HeaderSignature)) {
		rc.t.Errorf("signature %q does not verify", r.Header.Get(notification.HeaderSignature))
	}
	rc.mu.Lock()
	i := min(len(rc.calls), len(rc.answers)-1)
	rc.calls = append(rc.calls, r.Header.Clone())
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
	w.WriteHeader(rc.answers[i])
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.calls)
}

func webhookFixture(t *testing.T, tenantID string, answers ...int) (*fixture, *receiver) {
	rc := &receiver{t: t, secret: []byte("0123456789abcdef-secret"), answers: answers}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	wh, err := notification.NewWebhook(notification.WebhookConfig{URL: srv.URL + "/hook", Secret: rc.secret})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, tenantID, options{extra: []notification.Channel{wh},
		cfg: notification.Config{Routes: map[string][]string{notification.KindOrderStatusUpdate: {"webhook"}}}})
	return f, rc
}

// A receiver answering 500 then 200 gets the notification on the second
// attempt, signed, with the same idempotency key both times; a receiver
// answering 4xx gets it once, and the delivery is dead with the answer.
func TestWebhook(t *testing.T) {
	for _, c := range []struct {
		name     string
		answers  []int
		state    string
		attempts int
	}{
		{"500 then 200", []int{500, 200}, notification.StateSent, 2},
		{"404", []int{404}, notification.StateDead, 1},
		{"422", []int{422, 200}, notification.StateDead, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, rc := webhookFixture(t, "hook-"+strings.ReplaceAll(c.name, " ", "-"), c.answers...)
			f.run(f.svc)
			id := "status/" + c.name
			rec, created, err := f.svc.Notify(f.ctx, notification.Notification{ID: id, UserID: "u-2", Kind: notification.KindOrderStatusUpdate,
				Subject: "Order o-2 shipped", Data: map[string]string{"order_id": "o-2"}})
			if err != nil || !created || len(rec.Deliveries) != 1 || rec.Deliveries[0].Channel != "webhook" {
				t.Fatalf("Notify: %+v %v %v, want a new notification routed to the webhook only", rec, created, err)
			}
			d := f.waitState(id, "webhook", c.state)
			if d.Attempts != c.attempts || rc.count() != c.attempts {
				t.Errorf("attempts %d, receiver called %d times, want %d", d.Attempts, rc.count(), c.attempts)
			}
			if c.state == notification.StateDead && !strings.Contains(d.LastError, fmt.Sprint(c.answers[0])) {
				t.Errorf("last error %q does not name the answer %d", d.LastError, c.answers[0])
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for i, h := range rc.calls {
				if k := h.Get(notification.HeaderIdempotencyKey); k != notification.DeliveryKey(id, "webhook") {
					t.Errorf("call %d: key %q", i, k)
				}
				var got notification.Notification
				if err := json.Unmarshal(rc.bodies[i], &got); err != nil || got.ID != id || got.Data["order_id"] != "o-2" {
					t.Errorf("call %d: body %s (%v)", i, rc.bodies[i], err)
				}
			}
			if len(f.mail.Messages()) != 0 {
				t.Error("a kind routed to the webhook only was mailed")
			}
		})
	}
}

// With no SMTP server to reach, a delivery is tried MaxAttempts times, then dead
// with the error of the last attempt.
func TestSMTPDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	f := newFixture(t, "smtp-down", options{smtpAddr: addr, cfg: notification.Config{MaxAttempts: 3}})
	f.run(f.svc)
	id := "down-1"
	if _, _, err := f.svc.Notify(f.ctx, notification.Notification{ID: id, UserID: "u-3", Kind: notification.KindOrderConfirmed,
		Subject: "s", Data: map[string]string{"email": "u3@shop.test"}}); err != nil {
		t.Fatal(err)
	}
	d := f.waitState(id, "email", notification.StateDead)
	if d.Attempts != 3 || !strings.Contains(d.LastError, "dialing "+addr) {
		t.Errorf("attempts %d, last error %q: want 3, a dialing error", d.Attempts, d.LastError)
	}
}

// Two workers (two processes' services) racing over the same deliveries send
// each once: the mailbox gets as many messages as there are notifications, each
// Message-ID once.
func TestWorkersRace(t *testing.T) {
	f := newFixture(t, "race", options{})
	other := f.newService(notification.Config{Channels: []notification.Channel{f.email}, DueTable: "due_" + strings.ReplaceAll(f.tenant, "-", "_"),
		Backoff: fastBackoff, Poll: 20 * time.Millisecond, Timeout: 5 * time.Second})
	const n = 20
	for i := range n {
		if _, _, err := f.svc.Notify(f.ctx, notification.Notification{ID: fmt.Sprintf("race-%d", i), UserID: "u-4",
			Kind: notification.KindOrderConfirmed, Subject: "s", Data: map[string]string{"email": "u4@shop.test"}}); err != nil {
			t.Fatal(err)
		}
	}
	f.run(f.svc)
	f.run(other)
	for i := range n {
		f.waitState(fmt.Sprintf("race-%d", i), "email", notification.StateSent)
	}
	seen := map[string]int{}
	for _, m := range f.mail.Messages() {
		seen[m.Header.Get("Message-ID")]++
	}
	if len(f.mail.Messages()) != n || len(seen) != n {
		t.Errorf("%d messages, %d Message-IDs, want %d of each", len(f.mail.Messages()), len(seen), n)
	}
}

// A worker stopped while the SMTP server holds its message (the data sent, the
// answer not yet) gives its claim back; another worker claims the delivery and
// sends it again. Both messages reach the mailbox when it lets them go: that is
// the at-least-once window, recognisable by their one Message-ID. The delivery
// is recorded sent once, by the second worker.
func TestWorkerStoppedMidDelivery(t *testing.T) {
	f := newFixture(t, "stopped", options{})
	f.mail.Hold()
	started := f.mail.DataStarted()
	id := "stopped-1"
	if _, _, err := f.svc.Notify(f.ctx, notification.Notification{ID: id, UserID: "u-5", Kind: notification.KindOrderConfirmed,
		Subject: "s", Data: map[string]string{"email": "u5@shop.test"}}); err != nil {
		t.Fatal(err)
	}
	stop := f.run(f.svc)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery was not sent")
	}
	started = f.mail.DataStarted()
	stop()
	if d := f.waitState(id, "email", notification.StatePending); d.Attempts != 0 {
		t.Errorf("the stopped attempt counted: %+v", d)
	}
	f.run(f.newService(notification.Config{Channels: []notification.Channel{f.email}, DueTable: "due_" + strings.ReplaceAll(f.tenant, "-", "_"),
		Backoff: fastBackoff, Poll: 20 * time.Millisecond, Timeout: 5 * time.Second}))
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery was not claimed again")
	}
	f.mail.Release()
	d := f.waitState(id, "email", notification.StateSent)
	msgs := f.mail.Messages()
	if d.Attempts != 1 || len(msgs) != 2 || msgs[0].Header.Get("Message-ID") != msgs[1].Header.Get("Message-ID") {
		t.Errorf("attempts %d, %d messages: want 1 attempt recorded, 2 messages with one Message-ID", d.Attempts, len(msgs))
	}
}

// rooms records broadcasts.
type rooms struct {
	mu  sync.Mutex
	got []string // "room type id"
}

func (r *rooms) BroadcastToRoom(_ context.Context, room, msgType string, data any) error {
	n, ok := data.(notification.Notification)
	if !ok {
		return errors.New("not a notification")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, room+" "+msgType+" "+n.ID)
	return nil
}

// A user's notification goes to the user's room, a low-stock alert to the
// administrators' room (and to no e-mail: it has no address).
func TestRooms(t *testing.T) {
	rec := &rooms{}
	ch, err := notification.NewRoomsChannel(rec)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "rooms", options{extra: []notification.Channel{ch}})
	f.run(f.svc)
	for _, n := range []notification.Notification{
		{ID: "r-1", UserID: "u-6", Kind: notification.KindOrderStatusUpdate, Subject: "shipped"},
		{ID: "r-2", Kind: notification.KindLowStockAlert, Subject: "p-1 low", Data: map[string]string{"product_id": "p-1"}},
	} {
		r, _, err := f.svc.Notify(f.ctx, n)
		if err != nil || len(r.Deliveries) != 1 {
			t.Fatalf("Notify %s: %+v %v, want one delivery", n.ID, r, err)
		}
		f.waitState(n.ID, "rooms", notification.StateSent)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []string{"user:u-6 notification r-1", "admin notification r-2"}; fmt.Sprint(rec.got) != fmt.Sprint(want) {
		t.Errorf("broadcasts %q, want %q", rec.got, want)
	}
}
