package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("payment_service_test")

func TestMain(m *testing.M) { env.Main(m) }

// visa is a valid card number that is no test card.
const visa = "4111111111111111"

// placer gives the tenants it names a keyspace of their own; the others share the
// tables of the package's keyspace.
type placer map[string]string

func (p placer) Keyspace(_ context.Context, id string) (string, error) { return p[id], nil }

// bigTenant has a keyspace of its own; every other tenant is in the shared tables.
const bigTenant = "big"

var (
	dbOnce sync.Once
	tdb    *orm.DB
	dbErr  error
)

// tenantedDB returns the tenanted view of the package's DB the tests share. Each test
// runs as a tenant of its own, so the balances of one are not another's.
func tenantedDB(t *testing.T) *orm.DB {
	t.Helper()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dbOnce.Do(func() {
		own := placer{bigTenant: env.KeyspacePrefix() + bigTenant}
		if dbErr = base.CreateKeyspace(context.Background(), own[bigTenant], orm.SimpleStrategy(1)); dbErr != nil {
			return
		}
		tdb, dbErr = base.WithTenancy(orm.Tenancy{Placer: own})
	})
	if dbErr != nil {
		t.Fatal(dbErr)
	}
	return tdb
}

type options struct {
	net  cardnet.Config
	cfg  payment.Config
	wrap func(http.Handler) http.Handler // around the network's handler
}

// fixture is one test's payment service, on a network of its own, served behind the
// tenant middleware; calls are made as tenant.
type fixture struct {
	t      *testing.T
	tenant string
	db     *orm.DB
	net    *cardnet.Network
	svc    *payment.Service
	api    *httptest.Server
}

func newFixture(t *testing.T, tenantID string, o options) *fixture {
	t.Helper()
	db := tenantedDB(t)
	n, err := cardnet.New(o.net)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = n.Handler()
	if o.wrap != nil {
		h = o.wrap(h)
	}
	netSrv := httptest.NewServer(h)
	t.Cleanup(netSrv.Close)
	cfg := o.cfg
	cfg.CardNetURL = netSrv.URL
	cfg.HTTPClient = netSrv.Client()
	if cfg.Retry.Backoff == (retry.Backoff{}) {
		cfg.Retry.Backoff = retry.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	}
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := payment.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{t.Context(), tenant.With(t.Context(), bigTenant)} {
		if err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: tenanthttp.ResolverFunc(func(context.Context, string) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(mw(svc.Handler()))
	t.Cleanup(api.Close)
	// A tenant of this run: the keyspace outlives runs of go test -count=n.
	tenantID += "-" + orm.NewUUID().String()[:6]
	return &fixture{t: t, tenant: tenantID, db: db, net: n, svc: svc, api: api}
}

func (f *fixture) ctx() context.Context { return tenant.With(f.t.Context(), f.tenant) }

// call sends a request as the fixture's tenant and decodes the JSON answer.
func (f *fixture) call(method, path, body string, header ...string) (int, map[string]any, http.Header) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.api.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Tenant-ID", f.tenant)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.api.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		f.t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out, resp.Header
}

func chargeBody(order string, cents int64, currency, card string) string {
	return fmt.Sprintf(`{"order_id":%q,"amount_cents":%d,"currency":%q,"card":%q}`, order, cents, currency, card)
}

func (f *fixture) charge(id string, cents int64, card string) (int, map[string]any) {
	f.t.Helper()
	code, out, _ := f.call("POST", "/payments/"+url.PathEscape(id)+"/charge", chargeBody("order-"+id, cents, "EUR", card))
	return code, out
}

func (f *fixture) refund(id string) (int, map[string]any) {
	f.t.Helper()
	code, out, _ := f.call("POST", "/payments/"+url.PathEscape(id)+"/refund", "")
	return code, out
}

// balances returns the tenant's balances, checking that they sum to 0 (over the API
// too) and that the customer's mirror the merchant's.
func (f *fixture) balances() map[string]int64 {
	f.t.Helper()
	b, err := f.svc.Balances(f.ctx())
	if err != nil {
		f.t.Fatal(err)
	}
	var sum int64
	for _, v := range b {
		sum += v
	}
	for _, cur := range []string{"EUR", "GBP", "USD"} {
		if b[payment.CustomerAccount(cur)] != -b[payment.MerchantAccount(cur)] {
			f.t.Errorf("%s: customer %d, merchant %d", cur, b[payment.CustomerAccount(cur)], b[payment.MerchantAccount(cur)])
		}
	}
	code, out, _ := f.call("GET", "/ledger/balances", "")
	if code != http.StatusOK || sum != 0 || out["sum"] != 0.0 {
		f.t.Errorf("balances %v sum to %d; API: %d %v", b, sum, code, out)
	}
	return b
}

// entries returns the ledger entries of payment id, by entry id.
func (f *fixture) entries(id string) map[string]int64 {
	f.t.Helper()
	m, err := orm.NewModel[payment.Entry](f.db, orm.TableName("ledger_entries"))
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, acct := range f.svc.Accounts() {
		for e, err := range m.Query().Where(orm.Eq("account", acct)).All(f.ctx()) {
			if err != nil {
				f.t.Fatal(err)
			}
			if e.PaymentID == id {
				out[acct+" "+e.EntryID] = e.AmountCents
			}
		}
	}
	return out
}

func merchantEUR(b map[string]int64) int64 { return b[payment.MerchantAccount("EUR")] }

func TestChargeApproved(t *testing.T) {
	f := newFixture(t, "t-approve", options{})
	id := "saga-1/process_payment" // a saga branch: sent path-escaped
	code, out, _ := f.call("POST", "/payments/saga-1%2Fprocess_payment/charge", chargeBody("order-1", 2599, "EUR", visa),
		"Idempotency-Key", id+"/do")
	if code != http.StatusOK || out["status"] != "approved" || out["payment_id"] != id || out["charge_id"] == "" || out["card_last4"] != "1111" {
		t.Fatalf("charge: %d %v", code, out)
	}
	if b := f.balances(); merchantEUR(b) != 2599 {
		t.Errorf("balances %v, want the merchant at 2599", b)
	}
	want := map[string]int64{
		payment.CustomerAccount("EUR") + " " + id + "/charge/debit":  -2599,
		payment.MerchantAccount("EUR") + " " + id + "/charge/credit": 2599,
	}
	if got := f.entries(id); !maps.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if code, got, _ := f.call("GET", "/payments/saga-1%2Fprocess_payment", ""); code != http.StatusOK || got["status"] != "approved" || got["amount_cents"] != 2599.0 {
		t.Errorf("GET: %d %v", code, got)
	}
	if code, got, _ := f.call("GET", "/payments/nope", ""); code != http.StatusNotFound {
		t.Errorf("GET unknown: %d %v", code, got)
	}
	if s := f.net.Stats(); s.Charges != 1 || s.ApprovedCents != 2599 {
		t.Errorf("network %+v", s)
	}
}

// A repeated delivery is answered from the barrier and the stored payment: the
// network sees one charge, the ledger one set of entries.
func TestDuplicateCharge(t *testing.T) {
	f := newFixture(t, "t-duplicate", options{})
	_, first := f.charge("p-dup", 1000, visa)
	for range 3 {
		code, again := f.charge("p-dup", 1000, visa)
		if code != http.StatusOK || !maps.Equal(again, first) || again["status"] != "approved" {
			t.Fatalf("again: %d %v, first %v", code, again, first)
		}
	}
	if s := f.net.Stats(); s.Charges != 1 || s.ChargeReplays != 0 {
		t.Errorf("network %+v: want one charge, no request after it", s)
	}
	if got := f.entries("p-dup"); len(got) != 2 {
		t.Errorf("entries %v", got)
	}
	if b := f.balances(); merchantEUR(b) != 1000 {
		t.Errorf("balances %v", b)
	}
	// The same id for another amount is refused.
	if code, out := f.charge("p-dup", 1001, visa); code != http.StatusConflict {
		t.Errorf("same id, other amount: %d %v", code, out)
	}
}

func TestDecline(t *testing.T) {
	f := newFixture(t, "t-decline", options{})
	for _, tc := range []struct{ card, code string }{
		{cardnet.CardDecline, "card_declined"},
		{cardnet.CardInsufficientFunds, "insufficient_funds"},
	} {
		id := "p-" + tc.code
		for range 2 { // the second is a repeated delivery: the same answer
			code, out := f.charge(id, 500, tc.card)
			if code != http.StatusPaymentRequired || out["status"] != "declined" || out["decline_code"] != tc.code {
				t.Errorf("%s: %d %v", tc.card, code, out)
			}
		}
		if got := f.entries(id); len(got) != 0 {
			t.Errorf("%s: entries %v", id, got)
		}
	}
	if b := f.balances(); merchantEUR(b) != 0 {
		t.Errorf("balances %v", b)
	}
	if s := f.net.Stats(); s.Charges != 2 || s.Declined != 2 {
		t.Errorf("network %+v", s)
	}
	// A refund of a declined payment voids it, refunding nothing.
	if code, out := f.refund("p-card_declined"); code != http.StatusOK || out["status"] != "voided" {
		t.Errorf("refund of a declined payment: %d %v", code, out)
	}
	if s := f.net.Stats(); s.Refunds != 0 {
		t.Errorf("network %+v", s)
	}
}

func TestRefundAfterCharge(t *testing.T) {
	f := newFixture(t, "t-refund", options{})
	f.charge("p-keep", 300, visa)
	if code, out := f.charge("p-back", 1200, visa); code != http.StatusOK {
		t.Fatalf("charge: %d %v", code, out)
	}
	var refundID any
	for i := range 3 { // the later ones are repeated deliveries
		code, out, _ := f.call("POST", "/payments/p-back/refund", "", "Idempotency-Key", "p-back/undo")
		if code != http.StatusOK || out["status"] != "refunded" || out["refund_id"] == "" {
			t.Fatalf("refund %d: %d %v", i, code, out)
		}
		if i > 0 && out["refund_id"] != refundID {
			t.Errorf("refund %d: refund_id %v, first %v", i, out["refund_id"], refundID)
		}
		refundID = out["refund_id"]
	}
	if b := f.balances(); merchantEUR(b) != 300 {
		t.Errorf("balances %v, want only p-keep's 300", b)
	}
	if got := f.entries("p-back"); len(got) != 4 {
		t.Errorf("entries %v, want the charge's and the refund's", got)
	}
	if s := f.net.Stats(); s.Refunds != 1 || s.RefundedCents != 1200 || s.RefundReplays != 0 {
		t.Errorf("network %+v", s)
	}
	// A charge delivered again after its refund is refused: the step was compensated.
	if code, out := f.charge("p-back", 1200, visa); code != http.StatusConflict || out["status"] != "refunded" {
		t.Errorf("charge after its refund: %d %v", code, out)
	}
	if s := f.net.Stats(); s.Charges != 2 {
		t.Errorf("network %+v", s)
	}
}

// A compensation that overtakes its charge: nothing to refund, and the charge that
// arrives later is refused without reaching the network.
func TestRefundBeforeCharge(t *testing.T) {
	f := newFixture(t, "t-early-refund", options{})
	for range 2 {
		if code, out := f.refund("p-early"); code != http.StatusOK || out["status"] != "voided" {
			t.Fatalf("refund before charge: %d %v", code, out)
		}
	}
	code, out := f.charge("p-early", 800, visa)
	if code != http.StatusConflict || out["status"] != "voided" {
		t.Errorf("charge after its compensation: %d %v", code, out)
	}
	if _, err := f.svc.Charge(f.ctx(), "p-early", payment.ChargeRequest{OrderID: "o", AmountCents: 800, Currency: "EUR", Card: visa}); err == nil {
		t.Error("Charge after its compensation succeeded")
	}
	if code, got, _ := f.call("GET", "/payments/p-early", ""); code != http.StatusOK || got["status"] != "voided" {
		t.Errorf("GET: %d %v", code, got)
	}
	if s := f.net.Stats(); s.Charges != 0 || s.Refunds != 0 {
		t.Errorf("network %+v", s)
	}
	if b := f.balances(); merchantEUR(b) != 0 {
		t.Errorf("balances %v", b)
	}
}

func TestNetworkOutage(t *testing.T) {
	f := newFixture(t, "t-outage", options{cfg: payment.Config{Retry: retry.Policy{MaxAttempts: 2}}})
	f.net.SetOutage(true)
	code, out, h := f.call("POST", "/payments/p-out/charge", chargeBody("o-1", 4200, "EUR", visa))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("charge during an outage: %d %v %v", code, out, h)
	}
	if s := f.net.Stats(); s.Outages != 2 || s.Charges != 0 {
		t.Errorf("network %+v: want both attempts refused", s)
	}
	if code, got, _ := f.call("GET", "/payments/p-out", ""); code != http.StatusOK || got["status"] != "pending" {
		t.Errorf("GET during the outage: %d %v", code, got)
	}
	f.net.SetOutage(false)
	if code, out, _ := f.call("POST", "/payments/p-out/charge", chargeBody("o-1", 4200, "EUR", visa)); code != http.StatusOK || out["status"] != "approved" {
		t.Fatalf("retry after the outage: %d %v", code, out)
	}
	if s := f.net.Stats(); s.Charges != 1 {
		t.Errorf("network %+v", s)
	}
	if b := f.balances(); merchantEUR(b) != 4200 {
		t.Errorf("balances %v", b)
	}
}

// swallow answers nothing to the first n requests on path after the network handled
// them: the network did the work, the client times out not knowing.
func swallow(path string, n int32) func(http.Handler) http.Handler {
	var left atomic.Int32
	left.Store(n)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == path && left.Add(-1) >= 0 {
				next.ServeHTTP(httptest.NewRecorder(), r)
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// A charge whose answer is lost is recorded neither approved nor declined; asking
// again with the same id gets the network's answer, charged once.
func TestUnknownOutcome(t *testing.T) {
	f := newFixture(t, "t-unknown", options{
		cfg:  payment.Config{Timeout: 2 * time.Second, Retry: retry.Policy{MaxAttempts: 1}},
		wrap: swallow("/v1/charges", 2),
	})
	for _, id := range []string{"p-retried", "p-compensated"} {
		if code, out := f.charge(id, 700, visa); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: charge whose answer is lost: %d %v", id, code, out)
		}
		if p, err := f.svc.Get(f.ctx(), id); err != nil || p.Status != payment.StatusPending {
			t.Errorf("%s after the lost answer: %+v, %v", id, p, err)
		}
	}
	if s := f.net.Stats(); s.Charges != 2 {
		t.Fatalf("network %+v: both charges were made", s)
	}
	// The saga retries the first: the network dedupes.
	if code, out := f.charge("p-retried", 700, visa); code != http.StatusOK || out["status"] != "approved" {
		t.Errorf("retry: %d %v", code, out)
	}
	// The saga gives up on the second and compensates: the charge is found at the
	// network by its key, booked and refunded.
	if code, out := f.refund("p-compensated"); code != http.StatusOK || out["status"] != "refunded" {
		t.Errorf("compensation of the unknown charge: %d %v", code, out)
	}
	if got := f.entries("p-compensated"); len(got) != 4 {
		t.Errorf("entries %v, want the charge's and the refund's", got)
	}
	if s := f.net.Stats(); s.Charges != 2 || s.ChargeReplays != 1 || s.Refunds != 1 || s.RefundedCents != 700 {
		t.Errorf("network %+v", s)
	}
	if b := f.balances(); merchantEUR(b) != 700 {
		t.Errorf("balances %v, want p-retried's 700", b)
	}
}

// 30 payments charged at once, each delivered twice concurrently (as an at-least-once
// saga may): every payment is charged once and booked once.
func TestConcurrentCharges(t *testing.T) {
	f := newFixture(t, "t-concurrent", options{})
	const payments = 30
	// A delivery answered 503 (in flight) is delivered again, as the saga would.
	again := errors.New("503")
	policy := retry.Policy{If: retry.On(again), MaxAttempts: 100, Backoff: retry.Backoff{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond}}
	var wg sync.WaitGroup
	var wantCents int64
	for i := range payments {
		card := visa
		if i%5 == 0 {
			card = cardnet.CardDecline
		} else {
			wantCents += int64(100 + i)
		}
		for range 2 {
			wg.Go(func() {
				id := fmt.Sprintf("p-%d", i)
				err := retry.Do(t.Context(), policy, func(context.Context, int) error {
					code, out, _ := f.call("POST", "/payments/"+id+"/charge", chargeBody("o-"+id, int64(100+i), "EUR", card))
					switch {
					case code == http.StatusServiceUnavailable:
						return again
					case card == visa && code == http.StatusOK, card != visa && code == http.StatusPaymentRequired:
						return nil
					}
					return fmt.Errorf("%s: %d %v", id, code, out)
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	s := f.net.Stats()
	if s.Charges != payments || s.Declined != payments/5 || s.ApprovedCents != wantCents || s.ChargeReplays != 0 {
		t.Errorf("network %+v, want %d charges, %d declined, %d cents", s, payments, payments/5, wantCents)
	}
	if b := f.balances(); merchantEUR(b) != wantCents {
		t.Errorf("merchant %d, want %d", merchantEUR(b), wantCents)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, "t-validation", options{})
	for _, tc := range []struct {
		name, path, body string
		header           []string
		fields           map[string]string
	}{
		{"empty", "/payments/p-1/charge", `{}`, nil, map[string]string{
			"order_id": "is required", "amount_cents": "must be positive",
			"currency": "must be one of EUR, GBP, USD", "card": "is required"}},
		{"bad values", "/payments/p-1/charge", chargeBody("o", -1, "JPY", "4242-4242-4242-4242"), nil, map[string]string{
			"amount_cents": "must be positive", "currency": "must be one of EUR, GBP, USD", "card": "must be 12 to 19 digits"}},
		{"too much", "/payments/p-1/charge", chargeBody("o", 1_000_000_000_001, "EUR", visa), nil, map[string]string{
			"amount_cents": "must be at most 1000000000000"}},
		{"luhn, from the network", "/payments/p-luhn/charge", chargeBody("o", 100, "EUR", "4111111111111112"), nil, map[string]string{
			"card": "fails the Luhn check"}},
		{"amount as text", "/payments/p-1/charge", `{"order_id":"o","amount_cents":"1","currency":"EUR","card":"4111111111111111"}`, nil, map[string]string{
			"amount_cents": "must be a whole number"}},
		{"unknown field", "/payments/p-1/charge", `{"order_id":"o","cvv":"123"}`, nil, map[string]string{
			"body": `json: unknown field "cvv"`}},
		{"two objects", "/payments/p-1/charge", `{} {}`, nil, map[string]string{"body": "must be one JSON object"}},
		{"id too long", "/payments/" + strings.Repeat("x", payment.MaxIDLen+1) + "/charge", chargeBody("o", 1, "EUR", visa), nil, map[string]string{
			"payment_id": "must be at most 200 bytes"}},
		{"key of another payment", "/payments/p-1/charge", chargeBody("o", 1, "EUR", visa), []string{"Idempotency-Key", "p-2/do"}, map[string]string{
			"Idempotency-Key": "must be p-1/do"}},
		{"key of the other direction", "/payments/p-1/refund", "", []string{"Idempotency-Key", "p-1/do"}, map[string]string{
			"Idempotency-Key": "must be p-1/undo"}},
		{"refund with a control character", "/payments/p%0A1/refund", "", nil, map[string]string{
			"payment_id": "must be valid UTF-8 without control characters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := f.call("POST", tc.path, tc.body, tc.header...)
			got := map[string]string{}
			if fields, ok := out["fields"].(map[string]any); ok {
				for k, v := range fields {
					got[k] = fmt.Sprint(v)
				}
			}
			if code != http.StatusBadRequest || !maps.Equal(got, tc.fields) || out["error"] == "" {
				t.Errorf("%d %v, want 400 with fields %v", code, out, tc.fields)
			}
		})
	}
	if s := f.net.Stats(); s.Charges != 0 {
		t.Errorf("network %+v", s)
	}
	// Without a tenant the service refuses (behind the middleware, the middleware does).
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	for _, path := range []string{"/payments/p-1/charge", "/payments/p-1/refund"} {
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(chargeBody("o", 1, "EUR", visa)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s without a tenant: %d", path, resp.StatusCode)
		}
	}
	if _, err := f.svc.Balances(t.Context()); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("Balances without a tenant: %v", err)
	}
}

// The same payment id in two tenants, one in the shared tables and one in a
// keyspace of its own: two payments, two charges at the network, two ledgers.
func TestTenants(t *testing.T) {
	shared := newFixture(t, "t-shared", options{})
	own := &fixture{t: t, tenant: bigTenant, db: shared.db, net: shared.net, svc: shared.svc, api: shared.api}
	id := "p-" + shared.tenant // the big tenant outlives runs of go test -count=n
	var wg sync.WaitGroup
	for i, f := range []*fixture{shared, own} {
		wg.Go(func() {
			if code, out := f.charge(id, int64(1000*(i+1)), visa); code != http.StatusOK {
				t.Errorf("%s: charge: %d %v", f.tenant, code, out)
			}
		})
	}
	wg.Wait()
	if code, out := own.refund(id); code != http.StatusOK || out["status"] != "refunded" {
		t.Errorf("%s: refund: %d %v", own.tenant, code, out)
	}
	if b := shared.balances(); merchantEUR(b) != 1000 {
		t.Errorf("%s: balances %v", shared.tenant, b)
	}
	if b := own.balances(); merchantEUR(b) != 0 {
		t.Errorf("%s: balances %v", own.tenant, b)
	}
	for _, tc := range []struct {
		f      *fixture
		status string
		cents  float64
	}{{shared, "approved", 1000}, {own, "refunded", 2000}} {
		if code, got, _ := tc.f.call("GET", "/payments/"+id, ""); code != http.StatusOK || got["status"] != tc.status || got["amount_cents"] != tc.cents {
			t.Errorf("%s: GET: %d %v", tc.f.tenant, code, got)
		}
	}
	if s := shared.net.Stats(); s.Charges != 2 || s.ApprovedCents != 3000 || s.Refunds != 1 || s.RefundedCents != 2000 {
		t.Errorf("network %+v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	db, err := orm.Detached("shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  payment.Config
		ok   bool
	}{
		{"defaults", payment.Config{CardNetURL: "http://127.0.0.1:7401"}, true},
		{"no url", payment.Config{}, false},
		{"not http", payment.Config{CardNetURL: "ftp://x"}, false},
		{"negative timeout", payment.Config{CardNetURL: "http://x", Timeout: -time.Second}, false},
		{"negative attempts", payment.Config{CardNetURL: "http://x", Retry: retry.Policy{MaxAttempts: -1}}, false},
		{"bad currency", payment.Config{CardNetURL: "http://x", Currencies: []string{"eur"}}, false},
	} {
		if _, err := payment.New(db, tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: New: %v", tc.name, err)
		}
	}
}
