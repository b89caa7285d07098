package notification

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/deadline"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/jsonhttp"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// NotifyRequest is the body of POST /notifications.
type NotifyRequest struct {
	// ID is the notification's id; it may be left out when the Idempotency-Key
	// header gives it.
	ID      string            `json:"id"`
	UserID  string            `json:"user_id"`
	Kind    string            `json:"kind"`
	Subject string            `json:"subject"`
	Body    string            `json:"body"`
	Data    map[string]string `json:"data"`
}

// Handler serves the notification API for the tenant of each request's context,
// which tenanthttp.Middleware puts there; mount it behind that middleware:
//
//	POST /notifications           NotifyRequest → 201 the Record, new
//	                                             200 the Record, a duplicate
//	                                             409 {"error"}: id used for another user or kind
//	GET  /notifications/{id}      → 200 the Record (with its deliveries); 404
//	GET  /users/{id}/notifications?limit=N → 200 {"notifications": [Record]}, newest first
//
// The optional header Idempotency-Key is the notification's id: when both are
// given they must be equal. Errors are {"error": message}; a malformed request
// gets 400 {"error", "fields": {field: problem}}; one without a valid tenant on
// a tenanted DB gets 400 {"error"}. A request carrying the caller's deadline (header
// X-Request-Deadline, package deadline) runs under it.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /notifications", func(w http.ResponseWriter, r *http.Request) {
		var req NotifyRequest
		if fields := jsonhttp.Decode(w, r, MaxBodyLen+64<<10, &req); fields != nil {
			writeError(w, &ValidationError{Fields: fields})
			return
		}
		switch key := r.Header.Get("Idempotency-Key"); {
		case key != "" && req.ID == "":
			req.ID = key
		case key != "" && key != req.ID:
			writeError(w, &ValidationError{Fields: map[string]string{"Idempotency-Key": "must equal id"}})
			return
		}
		rec, created, err := s.Notify(r.Context(), Notification{ID: req.ID, UserID: req.UserID, Kind: req.Kind,
			Subject: req.Subject, Body: req.Body, Data: req.Data})
		if err != nil {
			writeError(w, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, rec)
	})
	mux.HandleFunc("GET /notifications/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("GET /users/{id}/notifications", func(w http.ResponseWriter, r *http.Request) {
		limit := MaxList
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxList {
				writeError(w, &ValidationError{Fields: map[string]string{"limit": "a whole number from 1 to " + strconv.Itoa(MaxList)}})
				return
			}
			limit = n
		}
		recs, err := s.ForUser(r.Context(), r.PathValue("id"), limit)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"notifications": recs})
	})
	return deadline.Handler(mux)
}

// writeError answers err with its status; a failure it does not know is a 500
// whose body does not describe it.
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
	case errors.Is(err, orm.ErrNotFound):
		status, msg = http.StatusNotFound, "no such notification"
	}
	jsonhttp.Error(w, status, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonhttp.Write(w, status, v) }
