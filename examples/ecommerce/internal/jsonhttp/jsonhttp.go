// Package jsonhttp is what the services of the e-commerce example do alike with
// JSON over HTTP: read a request's one JSON object strictly, and write an answer.
package jsonhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Decode reads the body of r, at most limit bytes, as one JSON object of known
// fields into v. It returns nil, or the problems found by field (its JSON name,
// or "body" for the body as a whole), for a 400 answer.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) map[string]string {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			return map[string]string{"body": "must be one JSON object"}
		}
		return nil
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		what := "a " + te.Type.Kind().String()
		if strings.HasPrefix(te.Type.Kind().String(), "int") {
			what = "a whole number"
		}
		return map[string]string{te.Field: "must be " + what}
	}
	return map[string]string{"body": err.Error()}
}

// Write answers status with v as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Status is the answer to the errors every service meets alike: a request without
// a valid tenant (400), an unknown (404) or suspended (403) tenant, and a database
// that did not answer, or whose write's outcome is unknown (503: retry). ok is
// false for any other error.
func Status(err error) (status int, msg string, ok bool) {
	switch {
	case errors.Is(err, orm.ErrUnavailable), errors.Is(err, orm.ErrUncertain), errors.Is(err, orm.ErrTimeout):
		return http.StatusServiceUnavailable, err.Error(), true
	case errors.Is(err, tenant.ErrNoTenant), errors.Is(err, tenant.ErrInvalidID):
		return http.StatusBadRequest, "no valid tenant", true
	case errors.Is(err, tenant.ErrUnknown):
		return http.StatusNotFound, "unknown tenant", true
	case errors.Is(err, tenant.ErrSuspended):
		return http.StatusForbidden, "tenant suspended", true
	}
	return 0, "", false
}

// Error answers {"error": msg} with status, and asks for a retry after a second
// on a 503.
func Error(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	Write(w, status, map[string]string{"error": msg})
}

// Send is the client side: it sends body (as JSON; none when nil) to url
// with method, as tenant (the X-Tenant-ID header; none when empty), and
// returns the answer's status and body. The error is for a request that
// could not be made or read: an answer of any status is not one.
func Send(ctx context.Context, method, url, tenant string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}
