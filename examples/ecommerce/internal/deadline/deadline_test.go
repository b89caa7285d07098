package deadline_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/deadline"
)

// What a handler behind Handler sees, for each header a caller may send.
func TestHandler(t *testing.T) {
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	tests := []struct {
		name, header string
		status       int
		ran          bool
		deadline     time.Time // zero: none
	}{
		{"no header", "", http.StatusOK, true, time.Time{}},
		{"a deadline ahead", soon.Format(time.RFC3339Nano), http.StatusOK, true, soon},
		{"a deadline passed", time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano), http.StatusGatewayTimeout, false, time.Time{}},
		{"not a time", "in five seconds", http.StatusBadRequest, false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			var got time.Time
			h := deadline.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				got, _ = r.Context().Deadline()
			}))
			req := httptest.NewRequest("POST", "/x", nil)
			if tc.header != "" {
				req.Header.Set(deadline.Header, tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || ran != tc.ran || !got.Equal(tc.deadline) {
				t.Fatalf("status %d, ran %v, deadline %v; want %d, %v, %v (body %s)", rec.Code, ran, got, tc.status, tc.ran, tc.deadline, rec.Body)
			}
		})
	}
}

// Set carries a context's deadline to the header Handler reads, to the millisecond.
func TestSetRoundTrip(t *testing.T) {
	d := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(t.Context(), d)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/x", nil)
	deadline.Set(req)
	var got time.Time
	in := httptest.NewRequest("GET", "/x", nil)
	in.Header = req.Header
	deadline.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = r.Context().Deadline() })).
		ServeHTTP(httptest.NewRecorder(), in)
	if got.Sub(d).Abs() >= time.Millisecond {
		t.Fatalf("deadline %v arrived as %v", d, got)
	}
	plain := httptest.NewRequest("GET", "/x", nil)
	deadline.Set(plain)
	if v := plain.Header.Get(deadline.Header); v != "" {
		t.Fatalf("a context without a deadline set the header to %q", v)
	}
}
