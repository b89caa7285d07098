package cardnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// visa is a valid card number that is no test card: its decision follows DeclineRate.
const visa = "4111111111111111"

// start runs a network on a loopback server for the test.
func start(t *testing.T, cfg cardnet.Config) (*cardnet.Network, *client) {
	t.Helper()
	n, err := cardnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)
	return n, &client{t: t, srv: srv}
}

type client struct {
	t   *testing.T
	srv *httptest.Server
}

// do sends a request and decodes its JSON answer into a map.
func (c *client) do(method, path, body string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out, resp.Header
}

func (c *client) charge(key string, cents int64, card string) (int, map[string]any) {
	c.t.Helper()
	code, out, _ := c.do("POST", "/v1/charges", fmt.Sprintf(`{"idempotency_key":%q,"amount_cents":%d,"currency":"EUR","card":%q}`, key, cents, card))
	return code, out
}

func (c *client) refund(key, chargeID string, cents int64) (int, map[string]any) {
	c.t.Helper()
	code, out, _ := c.do("POST", "/v1/refunds", fmt.Sprintf(`{"idempotency_key":%q,"charge_id":%q,"amount_cents":%d}`, key, chargeID, cents))
	return code, out
}

func (c *client) stats() cardnet.Stats {
	c.t.Helper()
	resp, err := c.srv.Client().Get(c.srv.URL + "/v1/stats")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s cardnet.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		c.t.Fatal(err)
	}
	return s
}

func TestChargeIsIdempotent(t *testing.T) {
	n, c := start(t, cardnet.Config{})
	code, first := c.charge("order-1/pay/do", 1250, cardnet.CardApprove)
	if code != http.StatusCreated || first["status"] != "approved" || first["charge_id"] == "" {
		t.Fatalf("first charge: %d %v", code, first)
	}
	code, again := c.charge("order-1/pay/do", 1250, cardnet.CardApprove)
	if code != http.StatusOK || !maps.Equal(first, again) {
		t.Fatalf("same key again: %d %v, want 200 %v", code, again, first)
	}
	want := cardnet.Stats{Charges: 1, Approved: 1, ApprovedCents: 1250, ChargeReplays: 1}
	if got := c.stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if got := n.Stats(); got != want {
		t.Errorf("Stats() %+v, want %+v", got, want)
	}
	// The charge can be read by id and by key.
	id := first["charge_id"].(string)
	if code, got, _ := c.do("GET", "/v1/charges/"+id, ""); code != http.StatusOK || !maps.Equal(got, first) {
		t.Errorf("GET by id: %d %v", code, got)
	}
	if code, got, _ := c.do("GET", "/v1/charges?idempotency_key=order-1%2Fpay%2Fdo", ""); code != http.StatusOK || got["charge_id"] != id {
		t.Errorf("GET by key: %d %v", code, got)
	}
	if code, got, _ := c.do("GET", "/v1/charges/ch_nope", ""); code != http.StatusNotFound {
		t.Errorf("GET unknown id: %d %v", code, got)
	}
	if code, got, _ := c.do("GET", "/v1/charges?idempotency_key=nope", ""); code != http.StatusNotFound {
		t.Errorf("GET unknown key: %d %v", code, got)
	}
	if code, got, _ := c.do("GET", "/v1/charges", ""); code != http.StatusBadRequest || got["fields"] == nil {
		t.Errorf("GET without key: %d %v", code, got)
	}
}

// Many requests with one key at once make one charge; the others are replays of it.
func TestChargeConcurrentSameKey(t *testing.T) {
	_, c := start(t, cardnet.Config{})
	const workers = 20
	ids := make(chan any, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			code, out := c.charge("same-key", 500, visa)
			if code != http.StatusCreated && code != http.StatusOK {
				t.Errorf("charge: %d %v", code, out)
			}
			ids <- out["charge_id"]
		})
	}
	wg.Wait()
	close(ids)
	seen := map[any]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("charge ids %v, want one", seen)
	}
	if s := c.stats(); s.Charges != 1 || s.ChargeReplays != workers-1 || s.ApprovedCents != 500 {
		t.Errorf("stats %+v", s)
	}
}

func TestChargeKeyReusedWithOtherParameters(t *testing.T) {
	_, c := start(t, cardnet.Config{})
	if code, out := c.charge("k", 100, cardnet.CardApprove); code != http.StatusCreated {
		t.Fatalf("charge: %d %v", code, out)
	}
	for _, body := range []string{
		`{"idempotency_key":"k","amount_cents":101,"currency":"EUR","card":"4242424242424242"}`,
		`{"idempotency_key":"k","amount_cents":100,"currency":"USD","card":"4242424242424242"}`,
		`{"idempotency_key":"k","amount_cents":100,"currency":"EUR","card":"4111111111111111"}`,
	} {
		if code, out, _ := c.do("POST", "/v1/charges", body); code != http.StatusConflict || !strings.Contains(out["error"].(string), `"k"`) {
			t.Errorf("%s: %d %v, want 409 naming the key", body, code, out)
		}
	}
	if s := c.stats(); s.Charges != 1 || s.ChargeReplays != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTestCards(t *testing.T) {
	// DeclineRate 1 declines every other card: the test cards decide by themselves.
	_, c := start(t, cardnet.Config{DeclineRate: 1})
	for _, tc := range []struct {
		card, status, code string
	}{
		{cardnet.CardApprove, "approved", ""},
		{cardnet.CardDecline, "declined", "card_declined"},
		{cardnet.CardInsufficientFunds, "declined", "insufficient_funds"},
		{visa, "declined", "card_declined"},
	} {
		t.Run(tc.card, func(t *testing.T) {
			code, out := c.charge("key-"+tc.card, 700, tc.card)
			if code != http.StatusCreated || out["status"] != tc.status {
				t.Fatalf("%d %v, want 201 %s", code, out, tc.status)
			}
			if got, _ := out["decline_code"].(string); got != tc.code {
				t.Errorf("decline_code %q, want %q", got, tc.code)
			}
			if out["card_last4"] != tc.card[12:] {
				t.Errorf("card_last4 %v", out["card_last4"])
			}
		})
	}
	if s := c.stats(); s.Charges != 4 || s.Approved != 1 || s.Declined != 3 || s.ApprovedCents != 700 {
		t.Errorf("stats %+v", s)
	}
}

// Declines depend on the seed and the key only: two networks with one seed decide
// alike, a retried key gets its first decision, and the rate is the share declined.
func TestDeclinesAreDeterministic(t *testing.T) {
	decisions := func(seed int64, rate float64) []string {
		_, c := start(t, cardnet.Config{Seed: seed, DeclineRate: rate})
		var out []string
		for i := range 200 {
			key := fmt.Sprintf("saga-%d/process_payment/do", i)
			code, first := c.charge(key, 100, visa)
			if code != http.StatusCreated {
				t.Fatalf("charge %s: %d %v", key, code, first)
			}
			if _, again := c.charge(key, 100, visa); again["status"] != first["status"] {
				t.Fatalf("retry of %s: %v, first %v", key, again["status"], first["status"])
			}
			out = append(out, first["status"].(string))
		}
		return out
	}
	count := func(ds []string, status string) (n int) {
		for _, d := range ds {
			if d == status {
				n++
			}
		}
		return n
	}
	a, b := decisions(42, 0.5), decisions(42, 0.5)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("seed 42 decided differently on two networks")
	}
	if d := count(a, "declined"); d < 60 || d > 140 {
		t.Errorf("rate 0.5 declined %d of 200", d)
	}
	if strings.Join(a, ",") == strings.Join(decisions(43, 0.5), ",") {
		t.Errorf("seeds 42 and 43 decided 200 keys alike")
	}
	if d := count(decisions(42, 0), "declined"); d != 0 {
		t.Errorf("rate 0 declined %d", d)
	}
	if d := count(decisions(42, 1), "declined"); d != 200 {
		t.Errorf("rate 1 declined %d of 200", d)
	}
}

func TestRefund(t *testing.T) {
	_, c := start(t, cardnet.Config{})
	_, ch := c.charge("pay", 1000, cardnet.CardApprove)
	id := ch["charge_id"].(string)

	code, first := c.refund("r1", id, 400)
	if code != http.StatusCreated || first["refund_id"] == "" || first["charge_id"] != id {
		t.Fatalf("refund: %d %v", code, first)
	}
	if code, again := c.refund("r1", id, 400); code != http.StatusOK || !maps.Equal(first, again) {
		t.Errorf("same refund again: %d %v", code, again)
	}
	if code, out := c.refund("r1", id, 300); code != http.StatusConflict {
		t.Errorf("refund key reused for another amount: %d %v", code, out)
	}
	if code, out := c.refund("r2", id, 700); code != http.StatusConflict || !strings.Contains(out["error"].(string), "600") {
		t.Errorf("over-refund: %d %v, want 409 naming the 600 left", code, out)
	}
	if code, out := c.refund("r3", id, 600); code != http.StatusCreated {
		t.Errorf("refund of the rest: %d %v", code, out)
	}
	if code, out := c.refund("r4", id, 1); code != http.StatusConflict {
		t.Errorf("refund of a fully refunded charge: %d %v", code, out)
	}
	if code, out := c.refund("r5", "ch_unknown", 1); code != http.StatusNotFound {
		t.Errorf("refund of an unknown charge: %d %v", code, out)
	}
	_, declined := c.charge("declined", 1000, cardnet.CardDecline)
	if code, out := c.refund("r6", declined["charge_id"].(string), 1); code != http.StatusConflict {
		t.Errorf("refund of a declined charge: %d %v", code, out)
	}
	if _, got, _ := c.do("GET", "/v1/charges/"+id, ""); got["refunded_cents"] != 1000.0 {
		t.Errorf("charge after refunds: %v", got)
	}
	if s := c.stats(); s.Refunds != 2 || s.RefundedCents != 1000 || s.RefundReplays != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestOutage(t *testing.T) {
	n, c := start(t, cardnet.Config{})
	n.SetOutage(true)
	code, out, h := c.do("POST", "/v1/charges", `{"idempotency_key":"k","amount_cents":100,"currency":"EUR","card":"4242424242424242"}`)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("charge during an outage: %d %v %v", code, out, h)
	}
	// Even a malformed request gets the 503: nothing is looked at.
	if code, _, _ := c.do("POST", "/v1/refunds", `{`); code != http.StatusServiceUnavailable {
		t.Errorf("malformed request during an outage: %d", code)
	}
	if s := c.stats(); s.Charges != 0 || s.Outages != 2 {
		t.Errorf("stats during the outage %+v", s)
	}
	n.SetOutage(false)
	if code, out := c.charge("k", 100, cardnet.CardApprove); code != http.StatusCreated {
		t.Errorf("charge after the outage: %d %v", code, out)
	}

	// A partial outage: the requests answered 503 did nothing.
	_, c = start(t, cardnet.Config{OutageRate: 0.5, Seed: 1})
	created, unavailable := 0, 0
	for i := range 100 {
		switch code, out := c.charge(fmt.Sprintf("k%d", i), 100, visa); code {
		case http.StatusCreated:
			created++
		case http.StatusServiceUnavailable:
			unavailable++
		default:
			t.Fatalf("charge: %d %v", code, out)
		}
	}
	if created == 0 || unavailable == 0 {
		t.Errorf("rate 0.5: %d created, %d unavailable", created, unavailable)
	}
	if s := c.stats(); s.Charges != created || s.Outages != unavailable {
		t.Errorf("stats %+v after %d created, %d unavailable", s, created, unavailable)
	}
}

func TestValidation(t *testing.T) {
	_, c := start(t, cardnet.Config{})
	long := strings.Repeat("k", cardnet.MaxKeyLen+1)
	for _, tc := range []struct {
		name, path, body string
		fields           map[string]string // nil: a body error without fields
	}{
		{"empty charge", "/v1/charges", `{}`, map[string]string{
			"idempotency_key": "is required", "amount_cents": "must be positive",
			"currency": "must be a three-letter ISO 4217 code in capitals", "card": "is required"}},
		{"bad values", "/v1/charges", `{"idempotency_key":"` + long + `","amount_cents":-5,"currency":"eur","card":"4242424242424241"}`, map[string]string{
			"idempotency_key": "must be at most 255 bytes", "amount_cents": "must be positive",
			"currency": "must be a three-letter ISO 4217 code in capitals", "card": "fails the Luhn check"}},
		{"too much", "/v1/charges", `{"idempotency_key":"k","amount_cents":1000000000001,"currency":"EUR","card":"42424242x4242424"}`, map[string]string{
			"amount_cents": "must be at most 1000000000000", "card": "must be 12 to 19 digits"}},
		{"short card", "/v1/charges", `{"idempotency_key":"k","amount_cents":1,"currency":"EUR","card":"4242"}`, map[string]string{
			"card": "must be 12 to 19 digits"}},
		{"amount as text", "/v1/charges", `{"idempotency_key":"k","amount_cents":"12","currency":"EUR","card":"4242424242424242"}`, map[string]string{
			"amount_cents": "must be a whole number"}},
		{"empty refund", "/v1/refunds", `{"amount_cents":0}`, map[string]string{
			"idempotency_key": "is required", "amount_cents": "must be positive", "charge_id": "is required"}},
		{"not JSON", "/v1/charges", `{"idempotency_key":`, nil},
		{"unknown field", "/v1/charges", `{"idempotency_key":"k","cvv":"123"}`, nil},
		{"two values", "/v1/refunds", `{} {}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := c.do("POST", tc.path, tc.body)
			if code != http.StatusBadRequest || out["error"] == "" {
				t.Fatalf("%d %v, want 400", code, out)
			}
			got := map[string]string{}
			if f, ok := out["fields"].(map[string]any); ok {
				for k, v := range f {
					got[k] = v.(string)
				}
			}
			if tc.fields == nil {
				tc.fields = map[string]string{}
			}
			if !maps.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
		})
	}
	if s := c.stats(); s != (cardnet.Stats{}) {
		t.Errorf("invalid requests changed the stats: %+v", s)
	}
}

// The latency delays the answer, not the charge, and gives up when the request's
// context ends: a client that hangs up frees its handler, and is left not knowing
// whether it was charged until it asks again with its key.
func TestLatencyHonoursContext(t *testing.T) {
	n, err := cardnet.New(cardnet.Config{Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	body := `{"idempotency_key":"slow","amount_cents":300,"currency":"EUR","card":"4242424242424242"}`
	req := httptest.NewRequestWithContext(ctx, "POST", "/v1/charges", strings.NewReader(body))
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Handler().ServeHTTP(rec, req)
	}()
	testenv.WaitUntil(t, 30*time.Second, "the charge to be made", func() bool { return n.Stats().Charges == 1 })
	select {
	case <-done:
		t.Fatal("the handler answered before its hour of latency")
	default:
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not return after its request's context ended")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("an answer was written after the client left: %q", rec.Body)
	}

	// Over the wire: the client's deadline ends its wait; its retry with the same key
	// finds the charge already made.
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	callCtx, callCancel := context.WithCancel(t.Context())
	creq, _ := http.NewRequestWithContext(callCtx, "POST", srv.URL+"/v1/charges", bytes.NewBufferString(body))
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(creq)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	testenv.WaitUntil(t, 30*time.Second, "the retry to reach the network", func() bool { return n.Stats().ChargeReplays == 1 })
	callCancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client call: %v, want context.Canceled", err)
	}
	if s := n.Stats(); s.Charges != 1 || s.ApprovedCents != 300 {
		t.Errorf("stats %+v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg cardnet.Config
		ok  bool
	}{
		{cardnet.Config{}, true},
		{cardnet.Config{DeclineRate: 1, OutageRate: 1, Latency: time.Second, Jitter: time.Second}, true},
		{cardnet.Config{DeclineRate: 1.5}, false},
		{cardnet.Config{OutageRate: -0.1}, false},
		{cardnet.Config{DeclineRate: math.NaN()}, false},
		{cardnet.Config{Latency: -time.Second}, false},
		{cardnet.Config{Jitter: -time.Second}, false},
		{cardnet.Config{MaxBodyBytes: -1}, false},
	} {
		_, err := cardnet.New(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("New(%+v): %v", tc.cfg, err)
		}
	}
}
