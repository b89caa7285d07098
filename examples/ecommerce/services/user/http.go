package user

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Handler serves the user API for the tenant of each request's context, which
// tenanthttp.Middleware puts there; mount it behind that middleware:
//
//	POST /users       {"user_id", "email", "name"}  → 201, 400 invalid, 409 taken
//	GET  /users/{id}  → 200 the profile (the read model), 404
//
// Every answer is JSON; errors are {"error": message}. A request whose context has no
// tenant gets 400 from the service's tenant-scoped models, never another tenant's data.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		var c CreateUser
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
			return
		}
		if err := s.Commands.Dispatch(r.Context(), c); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"user_id": c.UserID})
	})
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Profiles.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	return mux
}

// writeError answers err with its status; a failure it does not know is a 500 whose
// body does not describe it.
func writeError(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrAlreadyExists):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, orm.ErrNotFound):
		status, msg = http.StatusNotFound, "no such user"
	case errors.Is(err, tenant.ErrNoTenant), errors.Is(err, tenant.ErrInvalidID):
		status, msg = http.StatusBadRequest, "no valid tenant"
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
