package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/deadline"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// maxBody bounds a request body.
const maxBody = 1 << 16

// Handler serves the inventory API for the tenant of each request's context,
// which tenanthttp.Middleware puts there; mount it behind that middleware:
//
//	PUT    /stock/{product_id}            {"on_hand"}              → 200 level
//	POST   /stock/{product_id}/restock    {"quantity"}             → 200 level
//	GET    /stock/{product_id}                                     → 200 level, 404
//	POST   /inventory/check               {"items":[{"product_id","quantity"}]} → 200, 409 insufficient, 404 unknown product
//	PUT    /reservations/{id}             {"items":[...], "ttl_seconds"} → 200 (a duplicate too), 409 insufficient or compensated, 410 expired, 404
//	DELETE /reservations/{id}             {"product_ids":[...]}    → 200 (a duplicate, and a release before its reserve, too)
//	POST   /reservations/{id}/commit      {"product_ids":[...]}    → 200, 409 not held, 410 expired
//	PUT    /stock/{product_id}/reorder    {"auto_reorder","reorder_threshold","reorder_quantity"} → 200 level, 404
//	GET    /stock/{product_id}/purchase-orders                     → 200 {"purchase_orders":[...]}
//	GET    /stock/{product_id}/purchase-orders/{id}                → 200 purchase order, 404
//	POST   /stock/{product_id}/purchase-orders/{id}/receive        → 200 purchase order (received), 404
//
// A reservation id with a slash in it (a saga's "<saga id>/reserve_inventory") is
// sent escaped, as %2F. Every answer is JSON. Errors are {"error": message, "code":
// code} plus: "fields" (field name → what is wrong) for 400 invalid; "product_id"
// and "available" for 409 insufficient; "product_id", "reservation_id" and "state"
// for the other refusals. A request whose context has no tenant gets 400 from the
// service's tenant-scoped models, never another tenant's data. A failure the
// handler does not know is a 500 whose body does not describe it; one whose
// outcome is unknown, a 503 with Retry-After, for the caller to repeat (every
// call is idempotent). A request carrying the caller's deadline (header
// X-Request-Deadline, package deadline) runs under it; one whose deadline has
// passed gets 504.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /stock/{product_id}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			OnHand *int `json:"on_hand"`
		}
		if !decode(w, r, &body) {
			return
		}
		if body.OnHand == nil {
			writeError(w, &ValidationError{Fields: map[string]string{"on_hand": "required"}})
			return
		}
		l, err := s.SetStock(r.Context(), r.PathValue("product_id"), *body.OnHand)
		reply(w, l, err)
	})
	mux.HandleFunc("POST /stock/{product_id}/restock", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Quantity int `json:"quantity"`
		}
		if !decode(w, r, &body) {
			return
		}
		l, err := s.Restock(r.Context(), r.PathValue("product_id"), body.Quantity)
		reply(w, l, err)
	})
	mux.HandleFunc("GET /stock/{product_id}", func(w http.ResponseWriter, r *http.Request) {
		l, err := s.Get(r.Context(), r.PathValue("product_id"))
		reply(w, l, err)
	})
	mux.HandleFunc("POST /inventory/check", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Items []Item `json:"items"`
		}
		if !decode(w, r, &body) {
			return
		}
		err := s.Check(r.Context(), body.Items)
		reply(w, map[string]any{"ok": true, "items": body.Items}, err)
	})
	mux.HandleFunc("PUT /reservations/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Items      []Item `json:"items"`
			TTLSeconds int64  `json:"ttl_seconds"`
		}
		if !decode(w, r, &body) {
			return
		}
		// The service checks the TTL against its bounds; here only that it is a
		// number of seconds a Duration can hold.
		if body.TTLSeconds < 0 || body.TTLSeconds > int64(s.cfg.MaxTTL/time.Second) {
			writeError(w, &ValidationError{Fields: map[string]string{"ttl_seconds": fmt.Sprintf("must be from 1 to %d (0 or absent: %d)", s.cfg.MaxTTL/time.Second, s.cfg.DefaultTTL/time.Second)}})
			return
		}
		id := r.PathValue("id")
		rs, err := s.Reserve(r.Context(), id, body.Items, time.Duration(body.TTLSeconds)*time.Second)
		reply(w, map[string]any{"reservation_id": id, "reservations": rs}, err)
	})
	mux.HandleFunc("DELETE /reservations/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ProductIDs []string `json:"product_ids"`
		}
		if !decode(w, r, &body) {
			return
		}
		id := r.PathValue("id")
		rs, err := s.Release(r.Context(), id, body.ProductIDs)
		reply(w, map[string]any{"reservation_id": id, "reservations": rs}, err)
	})
	mux.HandleFunc("POST /reservations/{id}/commit", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ProductIDs []string `json:"product_ids"`
		}
		if !decode(w, r, &body) {
			return
		}
		id := r.PathValue("id")
		rs, err := s.Commit(r.Context(), id, body.ProductIDs)
		reply(w, map[string]any{"reservation_id": id, "reservations": rs}, err)
	})
	mux.HandleFunc("PUT /stock/{product_id}/reorder", func(w http.ResponseWriter, r *http.Request) {
		var body ReorderPolicy
		if !decode(w, r, &body) {
			return
		}
		l, err := s.SetReorder(r.Context(), r.PathValue("product_id"), body)
		reply(w, l, err)
	})
	mux.HandleFunc("GET /stock/{product_id}/purchase-orders", func(w http.ResponseWriter, r *http.Request) {
		pos, err := s.PurchaseOrders(r.Context(), r.PathValue("product_id"))
		reply(w, map[string]any{"purchase_orders": pos}, err)
	})
	mux.HandleFunc("GET /stock/{product_id}/purchase-orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		po, err := s.PurchaseOrder(r.Context(), r.PathValue("product_id"), r.PathValue("id"))
		reply(w, po, err)
	})
	mux.HandleFunc("POST /stock/{product_id}/purchase-orders/{id}/receive", func(w http.ResponseWriter, r *http.Request) {
		po, err := s.Receive(r.Context(), r.PathValue("product_id"), r.PathValue("id"))
		reply(w, po, err)
	})
	return deadline.Handler(mux)
}

// decode reads the JSON body into v, refusing unknown fields and trailing data;
// on failure it answers 400 naming the field, and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON value")
	}
	if err == nil {
		return true
	}
	f := map[string]string{}
	var typeErr *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		f[typeErr.Field] = "must be a JSON " + typeErr.Type.Kind().String()
	case errors.As(err, &tooLarge):
		f["body"] = fmt.Sprintf("larger than %d bytes", tooLarge.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f[strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)] = "unknown field"
	default:
		f["body"] = "not a JSON object: " + err.Error()
	}
	writeError(w, &ValidationError{Fields: f})
	return false
}

// reply answers v with 200, or err with its status.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// writeError answers err with its status and a body that says what was refused.
func writeError(w http.ResponseWriter, err error) {
	var (
		ve *ValidationError
		pe *ProductError
	)
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "code": "invalid", "fields": ve.Fields})
	case errors.As(err, &pe):
		status, code := http.StatusConflict, ""
		switch {
		case errors.Is(pe.Err, ErrInsufficient):
			code = "insufficient_stock"
		case errors.Is(pe.Err, ErrCompensated):
			code = "compensated"
		case errors.Is(pe.Err, ErrNotHeld):
			code = "not_held"
		case errors.Is(pe.Err, ErrExpired):
			status, code = http.StatusGone, "expired"
		case errors.Is(pe.Err, ErrUnknownProduct):
			status, code = http.StatusNotFound, "unknown_product"
		}
		body := map[string]any{"error": err.Error(), "code": code, "product_id": pe.ProductID}
		switch {
		case code == "insufficient_stock":
			body["available"] = pe.Available
		case pe.ReservationID != "":
			body["reservation_id"] = pe.ReservationID
			if pe.State != "" {
				body["state"] = pe.State
			}
		}
		writeJSON(w, status, body)
	case errors.Is(err, tenant.ErrNoTenant), errors.Is(err, tenant.ErrInvalidID):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "no valid tenant", "code": "no_tenant"})
	case errors.Is(err, orm.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error(), "code": "not_found"})
	case errors.Is(err, orm.ErrUncertain), errors.Is(err, ErrContended), errors.Is(err, orm.ErrUnavailable), errors.Is(err, orm.ErrTimeout):
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "try again: the outcome is not known yet, or the product is busy", "code": "retry"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error", "code": "internal"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
