package tenanthttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

// mapResolver stands in for the tenant registry: a tenant is active when its id maps
// to nil, refused with its error otherwise, unknown when absent. It is read-only
// once built, so safe for concurrent use.
type mapResolver map[string]error

func (m mapResolver) Active(_ context.Context, id string) error {
	err, ok := m[id]
	if !ok {
		return fmt.Errorf("map resolver: %q: %w", id, tenant.ErrUnknown)
	}
	return err
}

var errUnreachable = errors.New("registry: dial tcp 10.0.0.9:9042: connection refused")

var tenants = mapResolver{
	"acme":       nil,
	"globex":     nil,
	"initech":    nil,
	"big-shop-7": nil,
	"old":        tenant.ErrSuspended,
	"wrapped":    fmt.Errorf("registry: %w", tenant.ErrSuspended),
	"leaving":    fmt.Errorf("registry: being deleted: %w", tenant.ErrUnknown),
	"flaky":      errUnreachable,
	"slow":       fmt.Errorf("registry: lookup: %w", context.DeadlineExceeded),
}

// errorBody is the JSON of an error response, as a client decodes it.
type errorBody struct {
	Error struct {
		Status  int     `json:"status"`
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Tenant  *string `json:"tenant"`
	} `json:"error"`
}

// served is what the next handler writes: the tenant its context carries.
func served(w http.ResponseWriter, r *http.Request) {
	id, err := tenant.From(r.Context())
	if err != nil {
		http.Error(w, "next handler: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, id)
}

func mustMiddleware(t testing.TB, cfg tenanthttp.Config) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := tenanthttp.Middleware(cfg)
	if err != nil {
		t.Fatalf("Middleware: %v", err)
	}
	return mw
}

func TestMiddleware(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct {
		name    string
		base    string // Config.BaseDomain; "-" for none
		header  string // Config.Header; "" for the default
		host    string
		values  []string // values of the tenant header
		status  int
		tenant  string // served tenant on 200, the body's "tenant" otherwise
		code    string
		noField bool // the body has no "tenant"
	}{
		{name: "header", host: "api.example.net", values: []string{"acme"}, status: 200, tenant: "acme"},
		{name: "header, no host", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "subdomain", host: "acme.shop.example.com", status: 200, tenant: "acme"},
		{name: "subdomain with hyphens", host: "big-shop-7.shop.example.com", status: 200, tenant: "big-shop-7"},
		{name: "subdomain with port", host: "acme.shop.example.com:8443", status: 200, tenant: "acme"},
		{name: "uppercase host", host: "ACME.Shop.Example.COM:8080", status: 200, tenant: "acme"},
		{name: "trailing dot", host: "initech.shop.example.com.", status: 200, tenant: "initech"},
		{name: "uppercase base domain", base: "SHOP.example.com", host: "acme.shop.EXAMPLE.com", status: 200, tenant: "acme"},
		{name: "subdomain and same header", host: "acme.shop.example.com", values: []string{"acme"}, status: 200, tenant: "acme"},
		{name: "uppercase subdomain and header", host: "ACME.shop.example.com", values: []string{"acme"}, status: 200, tenant: "acme"},
		{name: "same header twice", values: []string{"acme", "acme"}, status: 200, tenant: "acme"},
		{name: "empty header value, subdomain", host: "acme.shop.example.com", values: []string{""}, status: 200, tenant: "acme"},
		{name: "custom header", header: "X-Org", values: []string{"acme"}, status: 200, tenant: "acme"},
		{name: "base domain itself, header", host: "shop.example.com", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "base domain itself with port, header", host: "shop.example.com:443", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "other host, header", host: "acme.other.example.com", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "suffix without dot is not under base", host: "evilshop.example.com", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "no base domain: host ignored", base: "-", host: "acme.shop.example.com", values: []string{"globex"}, status: 200, tenant: "globex"},
		{name: "IPv6 host, header", host: "[::1]:8080", values: []string{"acme"}, status: 200, tenant: "acme"},

		{name: "missing", status: 400, code: "missing_tenant", noField: true},
		{name: "missing: base domain itself", host: "shop.example.com", status: 400, code: "missing_tenant", noField: true},
		{name: "missing: other host", host: "acme.other.example.com", status: 400, code: "missing_tenant", noField: true},
		{name: "missing: suffix without dot", host: "acmeshop.example.com", status: 400, code: "missing_tenant", noField: true},
		{name: "missing: no base domain", base: "-", host: "acme.shop.example.com", status: 400, code: "missing_tenant", noField: true},
		{name: "missing: empty header", values: []string{""}, status: 400, code: "missing_tenant", noField: true},
		{name: "both and different", host: "acme.shop.example.com", values: []string{"globex"}, status: 400, code: "ambiguous_tenant", noField: true},
		{name: "header twice, different", values: []string{"acme", "globex"}, status: 400, code: "ambiguous_tenant", noField: true},
		{name: "nested subdomain", host: "a.b.shop.example.com", status: 400, code: "invalid_tenant", tenant: "a.b"},
		{name: "nested subdomain, header", host: "www.acme.shop.example.com", values: []string{"acme"}, status: 400, code: "invalid_tenant", tenant: "www.acme"},
		{name: "empty label", host: ".shop.example.com", values: []string{"acme"}, status: 400, code: "invalid_tenant", noField: true},
		{name: "invalid subdomain", host: "a_b.shop.example.com", status: 400, code: "invalid_tenant", tenant: "a_b"},
		{name: "invalid: uppercase header", values: []string{"Acme"}, status: 400, code: "invalid_tenant", tenant: "Acme"},
		{name: "invalid: too short", values: []string{"a"}, status: 400, code: "invalid_tenant", tenant: "a"},
		{name: "invalid: list in one header", values: []string{"acme,globex"}, status: 400, code: "invalid_tenant", tenant: "acme,globex"},
		{name: "invalid: markup", values: []string{`<script>"x"</script>`}, status: 400, code: "invalid_tenant", tenant: `<script>"x"</script>`},
		{name: "invalid: very long", values: []string{long}, status: 400, code: "invalid_tenant", tenant: long[:tenanthttp.MaxEcho] + "…"},
		{name: "invalid: long multibyte", values: []string{"a" + strings.Repeat("é", 100)}, status: 400, code: "invalid_tenant", tenant: "a" + strings.Repeat("é", 31) + "…"},

		{name: "unknown", values: []string{"nobody"}, status: 404, code: "unknown_tenant", tenant: "nobody"},
		{name: "unknown subdomain", host: "nobody.shop.example.com", status: 404, code: "unknown_tenant", tenant: "nobody"},
		{name: "unknown: being deleted, wrapped", values: []string{"leaving"}, status: 404, code: "unknown_tenant", tenant: "leaving"},
		{name: "suspended", values: []string{"old"}, status: 403, code: "suspended_tenant", tenant: "old"},
		{name: "suspended, wrapped", values: []string{"wrapped"}, status: 403, code: "suspended_tenant", tenant: "wrapped"},
		{name: "unreachable", values: []string{"flaky"}, status: 503, code: "tenant_unavailable", tenant: "flaky"},
		{name: "deadline", host: "slow.shop.example.com", status: 503, code: "tenant_unavailable", tenant: "slow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tenanthttp.Config{Resolver: tenants, BaseDomain: "shop.example.com", Header: tc.header}
			switch tc.base {
			case "":
			case "-":
				cfg.BaseDomain = ""
			default:
				cfg.BaseDomain = tc.base
			}
			header := tc.header
			if header == "" {
				header = "X-Tenant-ID"
			}
			req := httptest.NewRequest(http.MethodGet, "/orders", nil)
			req.Host = tc.host
			for _, v := range tc.values {
				req.Header.Add(header, v)
			}
			rec := httptest.NewRecorder()
			mustMiddleware(t, cfg)(http.HandlerFunc(served)).ServeHTTP(rec, req)

			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 {
				if got := rec.Body.String(); got != tc.tenant {
					t.Fatalf("next handler saw tenant %q, want %q", got, tc.tenant)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			wantRetry := ""
			if tc.status == 503 {
				wantRetry = "1"
			}
			if ra := rec.Header().Get("Retry-After"); ra != wantRetry {
				t.Errorf("Retry-After %q on %d, want %q", ra, tc.status, wantRetry)
			}
			raw := rec.Body.String()
			if strings.Contains(raw, "<script>") {
				t.Errorf("body echoes markup unescaped: %s", raw)
			}
			if len(raw) > 512 {
				t.Errorf("body is %d bytes: %.100s...", len(raw), raw)
			}
			var b errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, raw)
			}
			if b.Error.Status != tc.status || b.Error.Code != tc.code || b.Error.Message == "" {
				t.Errorf("body %s: want status %d, code %q and a message", raw, tc.status, tc.code)
			}
			switch {
			case tc.noField && b.Error.Tenant != nil:
				t.Errorf("body has tenant %q, want none", *b.Error.Tenant)
			case !tc.noField && tc.tenant != "" && (b.Error.Tenant == nil || *b.Error.Tenant != tc.tenant):
				t.Errorf("body %s: want tenant %q", raw, tc.tenant)
			}
			for _, v := range tc.values {
				if len(v) > tenanthttp.MaxEcho && strings.Contains(b.Error.Message, v[:tenanthttp.MaxEcho]) {
					t.Errorf("message echoes the header: %.100s", b.Error.Message)
				}
			}
		})
	}
}

// TestOnError: a custom OnError gets the status and an *Error whose cause errors.Is
// recognises through the resolver's wrapping; Retry-After is set before it runs.
func TestOnError(t *testing.T) {
	for _, tc := range []struct {
		id     string
		status int
		code   string
		is     error
	}{
		{"", 400, tenanthttp.CodeMissing, tenant.ErrNoTenant},
		{"Bad", 400, tenanthttp.CodeInvalid, tenant.ErrInvalidID},
		{"nobody", 404, tenanthttp.CodeUnknown, tenant.ErrUnknown},
		{"leaving", 404, tenanthttp.CodeUnknown, tenant.ErrUnknown},
		{"old", 403, tenanthttp.CodeSuspended, tenant.ErrSuspended},
		{"wrapped", 403, tenanthttp.CodeSuspended, tenant.ErrSuspended},
		{"flaky", 503, tenanthttp.CodeUnavailable, errUnreachable},
		{"slow", 503, tenanthttp.CodeUnavailable, context.DeadlineExceeded},
	} {
		t.Run(tc.code+"/"+tc.id, func(t *testing.T) {
			var got error
			var gotStatus int
			var retryAfter string
			mw := mustMiddleware(t, tenanthttp.Config{
				Resolver: tenants,
				OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
					got, gotStatus, retryAfter = err, status, w.Header().Get("Retry-After")
					w.WriteHeader(status)
				},
			})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.id != "" {
				req.Header.Set("X-Tenant-ID", tc.id)
			}
			rec := httptest.NewRecorder()
			mw(http.HandlerFunc(served)).ServeHTTP(rec, req)

			if gotStatus != tc.status || rec.Code != tc.status {
				t.Fatalf("OnError status %d, response %d, want %d", gotStatus, rec.Code, tc.status)
			}
			if !errors.Is(got, tc.is) {
				t.Errorf("err %v does not match %v", got, tc.is)
			}
			e, ok := errors.AsType[*tenanthttp.Error](got)
			if !ok {
				t.Fatalf("err %T is not an *Error", got)
			}
			if e.Status != tc.status || e.Code != tc.code || e.Tenant != tc.id {
				t.Errorf("Error %+v: want status %d, code %q, tenant %q", e, tc.status, tc.code, tc.id)
			}
			if (retryAfter == "1") != (tc.status == 503) {
				t.Errorf("Retry-After %q before OnError for %d", retryAfter, tc.status)
			}
		})
	}
}

// TestResolverDeadline: a resolver that runs into the request's deadline makes a 503.
func TestResolverDeadline(t *testing.T) {
	blocking := tenanthttp.ResolverFunc(func(ctx context.Context, id string) error {
		<-ctx.Done()
		return fmt.Errorf("registry: lookup %q: %w", id, ctx.Err())
	})
	var cause error
	mw := mustMiddleware(t, tenanthttp.Config{
		Resolver: blocking,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			cause = err
			tenanthttp.WriteError(w, r, status, err)
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	req.Header.Set("X-Tenant-ID", "acme")
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(served)).ServeHTTP(rec, req)

	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("cause %v, want context.DeadlineExceeded", cause)
	}
	var b errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code != "tenant_unavailable" {
		t.Errorf("body %s (%v)", rec.Body, err)
	}
	if strings.Contains(rec.Body.String(), "deadline") {
		t.Errorf("body reveals the resolver's error: %s", rec.Body)
	}
}

// TestResolverContext: the resolver gets the request's own context, and a valid id;
// invalid ids never reach it.
func TestResolverContext(t *testing.T) {
	type marker struct{}
	var calls atomic.Int32
	res := tenanthttp.ResolverFunc(func(ctx context.Context, id string) error {
		calls.Add(1)
		if ctx.Value(marker{}) != id {
			return fmt.Errorf("resolver for %q got a context marked %v", id, ctx.Value(marker{}))
		}
		return tenant.Check(id)
	})
	h := mustMiddleware(t, tenanthttp.Config{Resolver: res})(http.HandlerFunc(served))
	mark := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), marker{}, r.Header.Get("X-Tenant-ID"))))
		})
	}
	for _, id := range []string{"acme", "globex", "Bad!"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Tenant-ID", id)
		rec := httptest.NewRecorder()
		mark(h).ServeHTTP(rec, req)
		want := 200
		if id == "Bad!" {
			want = 400
		}
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d: %s", id, rec.Code, want, rec.Body)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("resolver called %d times, want 2 (not for the invalid id)", n)
	}
}

// TestNextNotCalledOnError: a refused request never reaches the next handler.
func TestNextNotCalledOnError(t *testing.T) {
	var reached atomic.Bool
	h := mustMiddleware(t, tenanthttp.Config{Resolver: tenants})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		reached.Store(true)
	}))
	for _, id := range []string{"", "Bad", "nobody", "old", "flaky"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-Tenant-ID", id)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if reached.Load() {
		t.Fatal("next handler was called for a refused request")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  tenanthttp.Config
		ok   bool
	}{
		{"defaults", tenanthttp.Config{Resolver: tenants}, true},
		{"base domain", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop.example.com"}, true},
		{"single-label base domain", tenanthttp.Config{Resolver: tenants, BaseDomain: "localhost"}, true},
		{"uppercase base domain", tenanthttp.Config{Resolver: tenants, BaseDomain: "Shop.Example.COM"}, true},
		{"custom header", tenanthttp.Config{Resolver: tenants, Header: "X-Org"}, true},
		{"no resolver", tenanthttp.Config{BaseDomain: "shop.example.com"}, false},
		{"slash", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop.example.com/api"}, false},
		{"scheme", tenanthttp.Config{Resolver: tenants, BaseDomain: "https://shop.example.com"}, false},
		{"empty label", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop..example.com"}, false},
		{"leading dot", tenanthttp.Config{Resolver: tenants, BaseDomain: ".shop.example.com"}, false},
		{"trailing dot", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop.example.com."}, false},
		{"port", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop.example.com:8080"}, false},
		{"wildcard", tenanthttp.Config{Resolver: tenants, BaseDomain: "*.example.com"}, false},
		{"hyphen edge", tenanthttp.Config{Resolver: tenants, BaseDomain: "-shop.example.com"}, false},
		{"space", tenanthttp.Config{Resolver: tenants, BaseDomain: "shop example.com"}, false},
		{"long label", tenanthttp.Config{Resolver: tenants, BaseDomain: strings.Repeat("a", 64) + ".com"}, false},
		{"long name", tenanthttp.Config{Resolver: tenants, BaseDomain: strings.Repeat("abcdefghi.", 26) + "com"}, false},
		{"header with space", tenanthttp.Config{Resolver: tenants, Header: "X Tenant"}, false},
		{"header with colon", tenanthttp.Config{Resolver: tenants, Header: "X-Tenant:"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			mw, err := tenanthttp.Middleware(tc.cfg)
			if (err == nil) != tc.ok || (mw != nil) != tc.ok {
				t.Fatalf("Middleware() = %v, %v; want ok=%v", mw != nil, err, tc.ok)
			}
		})
	}
}

// TestConcurrentTenants: many concurrent requests of different tenants, over real
// HTTP connections that are reused across tenants, through one middleware; every
// handler sees exactly the tenant its request was sent for.
func TestConcurrentTenants(t *testing.T) {
	active := []string{"t-a", "t-b", "t-c", "t-d", "t-e", "t-f", "t-g", "t-h", "t-i", "t-j"}
	res := mapResolver{"t-off": tenant.ErrSuspended}
	for _, id := range active {
		res[id] = nil
	}
	// The resolver and the handler yield, so requests interleave between resolution and
	// the handler.
	slow := tenanthttp.ResolverFunc(func(ctx context.Context, id string) error {
		runtime.Gosched()
		return res.Active(ctx, id)
	})
	var handled, mismatches atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		got, err := tenant.From(r.Context())
		if want := r.Header.Get("X-Sent-For"); err != nil || got != want {
			mismatches.Add(1)
			t.Errorf("handler for %q saw %q, %v", want, got, err)
		}
		runtime.Gosched()
		_, _ = io.WriteString(w, got)
	})
	srv := httptest.NewServer(mustMiddleware(t, tenanthttp.Config{Resolver: slow, BaseDomain: "shop.test"})(next))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	const workers, perWorker = 8, 25 // per tenant
	ids := slices.Concat(active, []string{"t-off", "t-gone"})
	type result struct{ ok, suspended, unknown, other int64 }
	var mu sync.Mutex
	var total result
	var wg sync.WaitGroup
	for _, id := range ids {
		for w := range workers {
			wg.Go(func() {
				var r result
				for i := range perWorker {
					req, err := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
					if err != nil {
						t.Error(err)
						return
					}
					req.Header.Set("X-Sent-For", id)
					// Half by subdomain, half by header, so both paths run at once.
					if (w+i)%2 == 0 {
						req.Host = id + ".shop.test"
					} else {
						req.Header.Set("X-Tenant-ID", id)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case resp.StatusCode == 200 && string(body) == id:
						r.ok++
					case resp.StatusCode == 200:
						t.Errorf("request for %q answered for %q", id, body)
						r.other++
					case resp.StatusCode == 403 && id == "t-off":
						r.suspended++
					case resp.StatusCode == 404 && id == "t-gone":
						r.unknown++
					default:
						t.Errorf("request for %q: %d %s", id, resp.StatusCode, body)
						r.other++
					}
				}
				mu.Lock()
				total.ok += r.ok
				total.suspended += r.suspended
				total.unknown += r.unknown
				total.other += r.other
				mu.Unlock()
			})
		}
	}
	wg.Wait()

	per := int64(workers * perWorker)
	want := result{ok: int64(len(active)) * per, suspended: per, unknown: per}
	if total != want {
		t.Errorf("results %+v, want %+v", total, want)
	}
	if n := handled.Load(); n != want.ok {
		t.Errorf("next handler ran %d times, want %d", n, want.ok)
	}
	if n := mismatches.Load(); n != 0 {
		t.Errorf("%d handlers saw another request's tenant", n)
	}
}
