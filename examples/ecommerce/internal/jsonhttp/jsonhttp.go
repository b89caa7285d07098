// Package jsonhttp is what the services of the e-commerce example do alike with
// JSON over HTTP: read a request's one JSON object strictly, and write an answer.
package jsonhttp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
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
