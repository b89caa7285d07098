// Package deadline carries a caller's deadline across HTTP, as gRPC does with its
// timeout header: a saga step of the order service puts its attempt's deadline
// on each call to a participant (Set), and the participant's handler runs the
// request under it (Handler). A call the caller has given up on then stops where
// it is, and what the participant holds for it (a barrier's run, in flight until
// its context's deadline) is held no longer than the step's attempt: the saga's
// next attempt, due at that deadline, finds it free.
//
// The deadline is a wall-clock time, so the services' clocks must agree to well
// within the step timeouts (NTP does).
package deadline

import (
	"context"
	"net/http"
	"time"
)

// Header is the request header that carries the deadline, in RFC 3339 with
// milliseconds, UTC.
const Header = "X-Request-Deadline"

// Set puts the deadline of req's context, if it has one, on req.
func Set(req *http.Request) {
	if d, ok := req.Context().Deadline(); ok {
		req.Header.Set(Header, d.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
}

// Handler runs next under the deadline of each request that carries one. A
// request whose deadline has passed already is answered 504 with a JSON error and
// does nothing; a malformed deadline is answered 400.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(Header)
		if v == "" {
			next.ServeHTTP(w, r)
			return
		}
		d, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			answer(w, http.StatusBadRequest, `{"error":"header `+Header+`: want an RFC 3339 time","code":"invalid"}`)
			return
		}
		if !time.Now().Before(d) {
			answer(w, http.StatusGatewayTimeout, `{"error":"the caller's deadline has passed","code":"deadline_passed"}`)
			return
		}
		ctx, cancel := context.WithDeadline(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
