package inventory_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// call sends a request with a JSON body (empty when body is) and the tenant
// header (none when tenantID is empty), and returns the status and the decoded
// body.
func call(t *testing.T, base, tenantID, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, bytes.NewReader([]byte(body)))
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
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, body: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// check is one request and what its answer must hold: the status, and values at
// paths into the JSON body ("reservations/0/state", "fields/items[0].quantity"), where
// "*" means any value but absent.
type check struct {
	name, method, path, body string
	status                   int
	want                     map[string]any
}

func run(t *testing.T, base, tenantID string, checks []check) {
	t.Helper()
	for _, c := range checks {
		status, body := call(t, base, tenantID, c.method, c.path, c.body)
		if status != c.status {
			t.Fatalf("%s: %s %s: status %d, want %d; body %v", c.name, c.method, c.path, status, c.status, body)
		}
		for path, want := range c.want {
			got, ok := at(body, path)
			switch {
			case !ok:
				t.Fatalf("%s: no %s in %v", c.name, path, body)
			case want != "*" && got != want:
				t.Fatalf("%s: %s is %v (%T), want %v; body %v", c.name, path, got, got, want, body)
			}
		}
	}
}

// at returns the value at path (names and indexes joined by slashes) in a
// decoded JSON value.
func at(v any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Every route, with its status codes and bodies, on a DB without tenancy.
func TestHTTP(t *testing.T) {
	svc := newService(t, testConfig())
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	p := url.PathEscape(product(t, "p"))
	pid, _ := url.PathUnescape(p)
	saga := "/reservations/" + url.PathEscape("saga-1/reserve_inventory")
	one := func(q int) string {
		b, _ := json.Marshal(map[string]any{"items": []map[string]any{{"product_id": pid, "quantity": q}}, "ttl_seconds": 60})
		return string(b)
	}
	products := `{"product_ids":["` + pid + `"]}`
	run(t, srv.URL, "", []check{
		{"unknown product", "GET", "/stock/" + p, "", 404, map[string]any{"code": "unknown_product", "product_id": pid}},
		{"set stock", "PUT", "/stock/" + p, `{"on_hand":10}`, 200, map[string]any{"on_hand": 10.0, "available": 10.0, "held": 0.0, "version": 1.0}},
		{"set stock: missing", "PUT", "/stock/" + p, `{}`, 400, map[string]any{"code": "invalid", "fields/on_hand": "required"}},
		{"set stock: not a number", "PUT", "/stock/" + p, `{"on_hand":"ten"}`, 400, map[string]any{"fields/on_hand": "*"}},
		{"set stock: unknown field", "PUT", "/stock/" + p, `{"on_hand":1,"extra":2}`, 400, map[string]any{"fields/extra": "unknown field"}},
		{"set stock: negative", "PUT", "/stock/" + p, `{"on_hand":-1}`, 400, map[string]any{"fields/on_hand": "*"}},
		{"set stock: not JSON", "PUT", "/stock/" + p, `on_hand=1`, 400, map[string]any{"fields/body": "*"}},
		{"set stock: trailing data", "PUT", "/stock/" + p, `{"on_hand":1} {}`, 400, map[string]any{"fields/body": "*"}},
		{"restock", "POST", "/stock/" + p + "/restock", `{"quantity":2}`, 200, map[string]any{"on_hand": 12.0, "available": 12.0}},
		{"restock: zero", "POST", "/stock/" + p + "/restock", `{"quantity":0}`, 400, map[string]any{"fields/quantity": "*"}},
		{"get", "GET", "/stock/" + p, "", 200, map[string]any{"product_id": pid, "on_hand": 12.0}},
		{"check", "POST", "/inventory/check", `{"items":[{"product_id":"` + pid + `","quantity":12}]}`, 200, map[string]any{"ok": true}},
		{"check: short", "POST", "/inventory/check", `{"items":[{"product_id":"` + pid + `","quantity":13}]}`, 409, map[string]any{"code": "insufficient_stock", "product_id": pid, "available": 12.0, "error": "*"}},
		{"check: no items", "POST", "/inventory/check", `{"items":[]}`, 400, map[string]any{"fields/items": "*"}},
		{"check: unknown product", "POST", "/inventory/check", `{"items":[{"product_id":"none","quantity":1}]}`, 404, map[string]any{"product_id": "none"}},
		{"reserve", "PUT", saga, one(2), 200, map[string]any{"reservation_id": "saga-1/reserve_inventory", "reservations/0/state": "held", "reservations/0/quantity": 2.0, "reservations/0/expires_at": "*"}},
		{"reserve again", "PUT", saga, one(2), 200, map[string]any{"reservations/0/state": "held"}},
		{"held", "GET", "/stock/" + p, "", 200, map[string]any{"available": 10.0, "held": 2.0, "reservations/0/reservation_id": "saga-1/reserve_inventory"}},
		{"reserve: short", "PUT", "/reservations/big", one(11), 409, map[string]any{"code": "insufficient_stock", "product_id": pid, "available": 10.0}},
		{"reserve: ttl", "PUT", "/reservations/x", `{"items":[{"product_id":"a","quantity":1}],"ttl_seconds":99999}`, 400, map[string]any{"fields/ttl_seconds": "*"}},
		{"reserve: bad items", "PUT", "/reservations/x", `{"items":[{"product_id":"","quantity":0},{"product_id":"a","quantity":1},{"product_id":"a","quantity":1}]}`, 400,
			map[string]any{"fields/items[0].product_id": "required", "fields/items[0].quantity": "*", "fields/items[2].product_id": "also in items[1]"}},
		{"reserve: quantity not a number", "PUT", "/reservations/x", `{"items":[{"product_id":"a","quantity":"1"}]}`, 400, map[string]any{"fields": "*"}},
		{"commit", "POST", saga + "/commit", products, 200, map[string]any{"reservations/0/state": "committed"}},
		{"commit again", "POST", saga + "/commit", products, 200, map[string]any{"reservations/0/state": "committed"}},
		{"sold", "GET", "/stock/" + p, "", 200, map[string]any{"on_hand": 10.0, "available": 10.0, "held": 0.0}},
		{"commit: never reserved", "POST", "/reservations/never/commit", products, 409, map[string]any{"code": "not_held", "product_id": pid, "reservation_id": "never"}},
		{"commit: no products", "POST", "/reservations/never/commit", `{"product_ids":[]}`, 400, map[string]any{"fields/product_ids": "*"}},
		{"release before reserve", "DELETE", "/reservations/undo-first", products, 200, map[string]any{"reservations/0/state": "cancelled", "reservations/0/quantity": 0.0}},
		{"release again", "DELETE", "/reservations/undo-first", products, 200, map[string]any{"reservations/0/state": "cancelled"}},
		{"late reserve", "PUT", "/reservations/undo-first", one(1), 409, map[string]any{"code": "compensated", "product_id": pid, "state": "cancelled"}},
		{"undo the sale", "DELETE", saga, products, 200, map[string]any{"reservations/0/state": "released"}},
		{"restored", "GET", "/stock/" + p, "", 200, map[string]any{"on_hand": 12.0, "available": 12.0}},
		{"commit after release", "POST", saga + "/commit", products, 409, map[string]any{"code": "not_held", "state": "released"}},
		{"short-lived", "PUT", "/reservations/short", `{"items":[{"product_id":"` + pid + `","quantity":1}],"ttl_seconds":1}`, 200, map[string]any{"reservations/0/state": "held"}},
	})
	_, body := call(t, srv.URL, "", "GET", "/stock/"+p, "")
	exp, _ := at(body, "reservations/0/expires_at")
	expires, err := time.Parse(time.RFC3339, exp.(string))
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 30*time.Second, "the short-lived hold's expiry to pass", func() bool { return time.Now().After(expires) })
	run(t, srv.URL, "", []check{
		{"commit after expiry", "POST", "/reservations/short/commit", products, 410, map[string]any{"code": "expired", "product_id": pid, "reservation_id": "short"}},
	})
}

// The reorder policy and purchase order routes.
func TestHTTPReorder(t *testing.T) {
	svc := newService(t, testConfig())
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	pid := product(t, "p")
	p := url.PathEscape(pid)
	run(t, srv.URL, "", []check{
		{"unknown product", "PUT", "/stock/" + p + "/reorder", `{"auto_reorder":true,"reorder_threshold":5,"reorder_quantity":10}`, 404, map[string]any{"code": "unknown_product"}},
		{"set stock", "PUT", "/stock/" + p, `{"on_hand":3}`, 200, map[string]any{"on_hand": 3.0}},
		{"policy", "PUT", "/stock/" + p + "/reorder", `{"auto_reorder":true,"reorder_threshold":5,"reorder_quantity":10}`, 200,
			map[string]any{"reorder/auto_reorder": true, "reorder/reorder_threshold": 5.0, "reorder/reorder_quantity": 10.0}},
		{"policy: no quantity", "PUT", "/stock/" + p + "/reorder", `{"auto_reorder":true}`, 400, map[string]any{"fields/reorder_quantity": "*"}},
		{"unknown purchase order", "GET", "/stock/" + p + "/purchase-orders/none", "", 404, map[string]any{"code": "not_found"}},
		{"receive unknown", "POST", "/stock/" + p + "/purchase-orders/none/receive", "", 404, map[string]any{"code": "not_found"}},
		{"no purchase orders", "GET", "/stock/" + p + "/purchase-orders", "", 200, map[string]any{"purchase_orders": "*"}},
	})
	po, created, err := svc.Reorder(t.Context(), pid)
	if err != nil || !created {
		t.Fatalf("reorder: %+v, %v, %v", po, created, err)
	}
	run(t, srv.URL, "", []check{
		{"open", "GET", "/stock/" + p, "", 200, map[string]any{"open_purchase_order": po.ID}},
		{"purchase orders", "GET", "/stock/" + p + "/purchase-orders", "", 200, map[string]any{"purchase_orders/0/id": po.ID}},
		{"purchase order", "GET", "/stock/" + p + "/purchase-orders/" + po.ID, "", 200, map[string]any{"state": "open", "quantity": 10.0, "product_id": pid}},
		{"receive", "POST", "/stock/" + p + "/purchase-orders/" + po.ID + "/receive", "", 200, map[string]any{"state": "received", "received_at": "*"}},
		{"receive again", "POST", "/stock/" + p + "/purchase-orders/" + po.ID + "/receive", "", 200, map[string]any{"state": "received"}},
		{"restocked", "GET", "/stock/" + p, "", 200, map[string]any{"on_hand": 13.0, "available": 13.0}},
	})
}
