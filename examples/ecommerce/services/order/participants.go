package order

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/deadline"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// participant is a service a step calls over HTTP.
type participant struct {
	name   string
	base   string
	client *http.Client
}

// StatusError is a participant's answer that was not a success.
type StatusError struct {
	Service, Method, Path string
	Status                int
	Body                  string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %s %s: %d %s", e.Service, e.Method, e.Path, e.Status, e.Body)
}

// call sends body as JSON to path with the saga's tenant, and decodes a success
// into out (if not nil). keyed adds the step's idempotency key as the
// Idempotency-Key header: for a call on the resource the step itself names. A refusal (4xx) is
// permanent: the saga compensates. A failure to get an answer, or a 5xx or 429, may
// be retried: the key makes a retry safe.
func (p participant) call(ctx context.Context, method, path string, keyed bool, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return saga.Permanent(fmt.Errorf("%s: encoding the request: %w", p.name, err))
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return saga.Permanent(fmt.Errorf("%s: %w", p.name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	if id, err := tenant.From(ctx); err == nil {
		req.Header.Set("X-Tenant-ID", id)
	}
	deadline.Set(req)
	if k, ok := saga.KeyFrom(ctx); ok && keyed {
		req.Header.Set("Idempotency-Key", k.String())
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", p.name, method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s: %s %s: decoding the answer: %w", p.name, method, path, err)
			}
		}
		return nil
	}
	serr := &StatusError{Service: p.name, Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(data))}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return serr
	}
	return saga.Permanent(serr)
}

// path joins segments, escaping each.
func path(segments ...string) string {
	var b bytes.Buffer
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// StatusOf returns the HTTP status of a participant's refusal in err, or 0.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
