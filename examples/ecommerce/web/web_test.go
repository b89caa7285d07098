package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
)

// The routes, their content types and the security headers, on every
// answer; everything else is 404, and writes are 405.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
		body         string // a part of the body
	}{
		{"GET", "/admin", 200, "text/html; charset=utf-8", `data-page="admin"`},
		{"GET", "/order", 200, "text/html; charset=utf-8", `data-page="order"`},
		{"HEAD", "/admin", 200, "text/html; charset=utf-8", ""},
		{"GET", "/static/app.js", 200, "text/javascript; charset=utf-8", "new WebSocket("},
		{"GET", "/static/app.css", 200, "text/css; charset=utf-8", "#state"},
		{"GET", "/static/icon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/admin/", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/admin/x", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/ws", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/static/", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/static/admin.html", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/static/missing.js", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/static/x/app.js", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/doc.go", 404, "text/plain; charset=utf-8", ""},
		{"POST", "/admin", 405, "text/plain; charset=utf-8", ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		name := tc.method + " " + tc.path
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, tc.status)
		}
		if got := h.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", name, got, tc.ctype)
		}
		if !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: body lacks %q", name, tc.body)
		}
		if got := h.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", name, got)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", name, got)
		}
		if got := h.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", name, got)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"} {
		if !strings.Contains(web.ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(web.ContentSecurityPolicy, "unsafe-inline") || strings.Contains(web.ContentSecurityPolicy, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %s", web.ContentSecurityPolicy)
	}
	if web.TypeNotification != notification.RoomMessageType {
		t.Errorf("TypeNotification %q, the notification service broadcasts %q", web.TypeNotification, notification.RoomMessageType)
	}
}
