package cardnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Handler returns the network's HTTP API (see the package documentation). It is safe
// for concurrent use; every handler it returns shares the network's state.
func (n *Network) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", n.api(func(w http.ResponseWriter, r *http.Request) (int, any) {
		var req chargeRequest
		if status, body := n.decode(w, r, &req); status != 0 {
			return status, body
		}
		if f := req.validate(); len(f) > 0 {
			return f.answer()
		}
		c, replay, err := n.charge(req)
		if err != nil {
			return failure(err)
		}
		if replay {
			return http.StatusOK, c
		}
		return http.StatusCreated, c
	}))
	mux.HandleFunc("POST /v1/refunds", n.api(func(w http.ResponseWriter, r *http.Request) (int, any) {
		var req refundRequest
		if status, body := n.decode(w, r, &req); status != 0 {
			return status, body
		}
		if f := req.validate(); len(f) > 0 {
			return f.answer()
		}
		rf, replay, err := n.refund(req)
		if err != nil {
			return failure(err)
		}
		if replay {
			return http.StatusOK, rf
		}
		return http.StatusCreated, rf
	}))
	mux.HandleFunc("GET /v1/charges/{id}", n.api(func(_ http.ResponseWriter, r *http.Request) (int, any) {
		c, err := n.chargeByID(r.PathValue("id"))
		if err != nil {
			return failure(err)
		}
		return http.StatusOK, c
	}))
	mux.HandleFunc("GET /v1/charges", n.api(func(_ http.ResponseWriter, r *http.Request) (int, any) {
		key := r.URL.Query().Get("idempotency_key")
		f := fieldErrors{}
		checkKey(f, key)
		if len(f) > 0 {
			return f.answer()
		}
		c, err := n.chargeByKey(key)
		if err != nil {
			return failure(err)
		}
		return http.StatusOK, c
	}))
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, n.Stats())
	})
	return mux
}

// api wraps an API endpoint: an outage answers 503 before fn runs; otherwise fn's
// answer is delayed by the network's latency, and dropped if the client hangs up
// meanwhile (what fn did stays done).
func (n *Network) api(fn func(w http.ResponseWriter, r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.down() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "card network unavailable"})
			return
		}
		status, body := fn(w, r)
		if n.delay(r.Context()) != nil {
			return
		}
		writeJSON(w, status, body)
	}
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

// fieldErrors maps a request field to what is wrong with it.
type fieldErrors map[string]string

func (f fieldErrors) answer() (int, any) {
	return http.StatusBadRequest, errorBody{Error: "invalid request", Fields: f}
}

// decode reads one JSON object of known fields into v. It returns status 0 when it
// did, or the 400 answer saying why not.
func (n *Network) decode(w http.ResponseWriter, r *http.Request, v any) (int, any) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, n.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return http.StatusBadRequest, errorBody{Error: "body: more than one JSON value"}
		}
		return 0, nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return fieldErrors{typeErr.Field: "must be a " + jsonKind(typeErr.Type.Kind().String())}.answer()
	}
	return http.StatusBadRequest, errorBody{Error: "body: " + err.Error()}
}

func jsonKind(goKind string) string {
	if strings.HasPrefix(goKind, "int") {
		return "whole number"
	}
	return goKind
}

// failure answers an error of the network's state.
func failure(err error) (int, any) {
	switch {
	case errors.Is(err, errConflict):
		return http.StatusConflict, errorBody{Error: err.Error()}
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, errorBody{Error: err.Error()}
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func checkKey(f fieldErrors, key string) {
	switch {
	case key == "":
		f["idempotency_key"] = "is required"
	case len(key) > MaxKeyLen:
		f["idempotency_key"] = fmt.Sprintf("must be at most %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		f["idempotency_key"] = "must be valid UTF-8"
	}
}

func checkAmount(f fieldErrors, cents int64) {
	switch {
	case cents <= 0:
		f["amount_cents"] = "must be positive"
	case cents > MaxAmountCents:
		f["amount_cents"] = fmt.Sprintf("must be at most %d", int64(MaxAmountCents))
	}
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// checkCard says what is wrong with a card number, or "".
func checkCard(card string) string {
	if card == "" {
		return "is required"
	}
	if len(card) < 12 || len(card) > 19 {
		return "must be 12 to 19 digits"
	}
	sum := 0
	for i := range len(card) {
		d := int(card[len(card)-1-i]) - '0'
		if d < 0 || d > 9 {
			return "must be 12 to 19 digits"
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if sum%10 != 0 {
		return "fails the Luhn check"
	}
	return ""
}
