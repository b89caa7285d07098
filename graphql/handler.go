package graphql

import (
	"encoding/json"
	"io"
	"net/http"
)

// ServeHTTP serves GraphQL over HTTP: POST with an application/json body
// {query, operationName, variables}, or GET with the same as query parameters
// (variables JSON-encoded; GET runs queries only). The request's context, with the
// tenant a middleware such as tenanthttp put there, is the context of every read
// and write.
func (s *Schema) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req Request
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxBytes)*2+4096))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, refused("INVALID", "reading the body: %s", err.Error()))
			return
		}
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, refused("INVALID", "the body is not a GraphQL JSON request: %s", err.Error()))
			return
		}
	case http.MethodGet:
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				writeJSON(w, http.StatusBadRequest, refused("INVALID", "variables are not a JSON object: %s", err.Error()))
				return
			}
		}
		if s.isMutation(req) {
			writeJSON(w, http.StatusMethodNotAllowed, refused("INVALID", "mutations need POST"))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, refused("INVALID", "method %s not allowed", r.Method))
		return
	}
	resp := s.Execute(r.Context(), req)
	code := http.StatusOK
	if resp.Data == nil && len(resp.Errors) > 0 {
		code = http.StatusBadRequest
	}
	writeJSON(w, code, resp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
