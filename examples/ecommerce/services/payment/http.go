package payment

import (
	"errors"
	"net/http"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/deadline"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/jsonhttp"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
)

// Handler serves the payment API for the tenant of each request's context, which
// tenanthttp.Middleware puts there; mount it behind that middleware:
//
//	POST /payments/{id}/charge  {"order_id", "amount_cents", "currency", "card"}
//	     → 200 the payment, approved
//	       402 the payment, declined: a definite outcome, not worth a retry
//	       409 {"error", "status"}: already compensated (barrier.ErrCompensated; status
//	           refunded or voided), or {"error"}: id used for another charge
//	       503 with Retry-After: in flight, or the network's answer is unknown; retry
//	POST /payments/{id}/refund  → 200 the payment, refunded or voided; 503 as above
//	GET  /payments/{id}         → 200 the payment; 404
//	GET  /ledger/balances       → 200 {"balances": {account: cents}, "sum": cents}
//
// An id holding "/" (a saga branch, "<saga id>/<step>") is sent path-escaped
// ("order-1%2Fprocess_payment"). The optional header Idempotency-Key must be
// "<id>/do" on a charge and "<id>/undo" on a refund, the saga's key: the payment id
// is the barrier's branch, so the header only checks that the caller means this
// payment. Errors are
// {"error": message}; a malformed request gets 400 {"error", "fields": {field:
// problem}}, as does one without a tenant on a tenanted DB. A request carrying the
// caller's deadline (header X-Request-Deadline, package deadline) runs under it,
// and so does the barrier's run: a charge its caller gave up on is in flight no
// longer than the caller's attempt; one whose deadline has passed gets 504.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /payments/{id}/charge", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var req ChargeRequest
		if err := errors.Join(checkKeyHeader(r, id, barrier.Do), decode(w, r, &req)); err != nil {
			writeError(w, err)
			return
		}
		p, err := s.Charge(r.Context(), id, req)
		switch {
		case errors.Is(err, barrier.ErrCompensated):
			status := StatusVoided // a null compensation may have left no row
			if p, err := s.Get(r.Context(), id); err == nil {
				status = p.Status
			}
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "status": status})
		case err != nil:
			writeError(w, err)
		case p.Status == StatusDeclined:
			writeJSON(w, http.StatusPaymentRequired, p)
		default:
			writeJSON(w, http.StatusOK, p)
		}
	})
	mux.HandleFunc("POST /payments/{id}/refund", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := checkKeyHeader(r, id, barrier.Undo); err != nil {
			writeError(w, err)
			return
		}
		p, err := s.Refund(r.Context(), id)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /payments/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /ledger/balances", func(w http.ResponseWriter, r *http.Request) {
		b, err := s.Balances(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		var sum int64
		for _, v := range b {
			sum += v
		}
		writeJSON(w, http.StatusOK, map[string]any{"balances": b, "sum": sum})
	})
	return deadline.Handler(mux)
}

// checkKeyHeader checks the optional Idempotency-Key header of a request for
// payment id and direction op: it must be "<id>/<op>".
func checkKeyHeader(r *http.Request, id string, op barrier.Op) error {
	want := id + "/" + string(op)
	if key := r.Header.Get("Idempotency-Key"); key != "" && key != want {
		return &ValidationError{Fields: map[string]string{"Idempotency-Key": "must be " + want}}
	}
	return nil
}

// decode reads one JSON object of known fields into v, or says what is wrong.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if fields := jsonhttp.Decode(w, r, 1<<16, v); fields != nil {
		return &ValidationError{Fields: fields}
	}
	return nil
}

// writeError answers err with its status; a failure it does not know is a 500 whose
// body does not describe it.
func writeError(w http.ResponseWriter, err error) {
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": ve.Error(), "fields": ve.Fields})
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	if st, m, ok := jsonhttp.Status(err); ok {
		status, msg = st, m
	}
	switch {
	case errors.Is(err, ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, barrier.ErrInFlight), errors.Is(err, barrier.ErrLost), errors.Is(err, ErrNetworkUnavailable):
		status, msg = http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, ErrNetwork):
		status, msg = http.StatusBadGateway, err.Error()
	case errors.Is(err, orm.ErrNotFound):
		status, msg = http.StatusNotFound, "no such payment"
	}
	jsonhttp.Error(w, status, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonhttp.Write(w, status, v) }
