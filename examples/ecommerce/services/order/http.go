package order

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Handler serves the order API for the tenant of each request's context
// (tenanthttp.Middleware puts it there):
//
//	POST /orders           PlaceOrder → 202 {"order_id","status":"processing"}; with
//	                       ?wait=30s, waits up to that long and answers 200 with the
//	                       view (confirmed or failed) or 202 if still processing;
//	                       400 {"error","fields"} invalid, 409 order id taken
//	GET  /orders/{id}      → 200 the View, 404
//	POST /orders/{id}/status {"status":"processing"|"shipped"|"delivered"} → 200 the
//	                       Order (also when it had that status already: a no-op);
//	                       400 invalid, 404 unknown order, 409 {"error","status"}
//	                       a transition refused (backwards, a skip, not confirmed)
//
// Every answer is JSON.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var p PlaceOrder
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
			return
		}
		if err := s.Place(r.Context(), p); err != nil {
			writeError(w, err)
			return
		}
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		if wait <= 0 {
			writeJSON(w, http.StatusAccepted, map[string]string{"order_id": p.OrderID, "status": "processing"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(wait, time.Minute))
		defer cancel()
		v, err := s.Wait(ctx, p.OrderID)
		if err != nil {
			if ctx.Err() != nil {
				writeJSON(w, http.StatusAccepted, map[string]string{"order_id": p.OrderID, "status": "processing"})
				return
			}
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /orders/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
			return
		}
		o, err := s.Advance(r.Context(), r.PathValue("id"), body.Status)
		if te, ok := errors.AsType[*TransitionError](err); ok {
			writeJSON(w, http.StatusConflict, map[string]any{"error": te.Error(), "status": te.Current})
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	return mux
}

func writeError(w http.ResponseWriter, err error) {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid order", "fields": ve.Fields})
	case errors.Is(err, saga.ErrExists):
		writeJSON(w, http.StatusConflict, map[string]any{"error": "an order with this id exists"})
	case errors.Is(err, saga.ErrNotFound), errors.Is(err, orm.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such order"})
	case errors.Is(err, tenant.ErrNoTenant), errors.Is(err, tenant.ErrInvalidID):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "no valid tenant"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
