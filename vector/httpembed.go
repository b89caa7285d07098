package vector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

// ErrDimension is matched (errors.Is) by the error of an embedder that got a
// vector of another length than its Dimension: from the server (OpenAI, Ollama)
// or from the inner embedder (Cached). The error names the model, the index of
// the input in the Embed call and both lengths.
var ErrDimension = errors.New("vector: wrong dimension")

// maxRetryAfter caps the wait a server's Retry-After header can impose before the
// next attempt.
const maxRetryAfter = time.Minute

// maxResponseBytes bounds the body of one response: 2048 inputs of 3072 floats
// written as JSON text stay well below it.
const maxResponseBytes = 256 << 20

// EndpointConfig is what the HTTP embedders (OpenAI, Ollama) share: where the
// server is, which model it runs and the model's dimension, and how requests are
// batched, timed and retried. Zero fields take the defaults documented on each
// (some differ between embedders).
type EndpointConfig struct {
	// BaseURL is the server's base URL, without a trailing path of the endpoint
	// (OpenAI: https://api.openai.com/v1, Ollama: http://127.0.0.1:11434).
	BaseURL string
	// Model is the model's name on the server. Required.
	Model string
	// Dimension is the length of the model's vectors. Required: every vector the
	// server returns is checked against it (ErrDimension).
	Dimension int
	// BatchSize is the most texts sent in one request (OpenAI: default 256, at most
	// 2048; Ollama: default 64). An Embed call of more texts sends several requests.
	BatchSize int
	// Concurrency is the most requests of one Embed call in flight at once.
	// Default 1: batches are sent one after another.
	Concurrency int
	// Timeout bounds each request, its attempts counted separately (OpenAI: default
	// 30s; Ollama: default 2m, as its first request may load the model).
	Timeout time.Duration
	// Retry says which failed requests are sent again. Each zero field has a
	// default: If is Retryable (HTTP 429 and 5xx, transport errors and timeouts,
	// never another 4xx), MaxAttempts 5, Backoff from 500ms doubling to 10s with
	// jitter. A Retry-After header (seconds or an HTTP date, at most a minute) on a
	// failed response delays the next attempt further if the backoff is shorter.
	Retry retry.Policy
	// HTTPClient sends the requests; nil means a client of http.DefaultTransport.
	// Its own Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
}

// endpointKind holds what differs between the HTTP embedders: names, defaults
// and the wire format of their requests and responses.
type endpointKind struct {
	name     string // "openai" or "ollama", as errors name the embedder
	baseURL  string // default BaseURL
	path     string // endpoint path below BaseURL
	batch    int    // default BatchSize
	maxBatch int    // the server's limit on inputs per request; 0 for none
	timeout  time.Duration
	// decode returns the vectors of a successful response body to a request of n
	// inputs, in input order.
	decode func(body []byte, n int) ([][]float32, error)
}

// withDefaults returns c with its zero fields set to k's defaults.
func (c EndpointConfig) withDefaults(k *endpointKind) EndpointConfig {
	if c.BaseURL == "" {
		c.BaseURL = k.baseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BatchSize == 0 {
		c.BatchSize = k.batch
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Timeout == 0 {
		c.Timeout = k.timeout
	}
	if c.Retry.If == nil {
		c.Retry.If = Retryable
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = 5
	}
	if c.Retry.Backoff == (retry.Backoff{}) {
		c.Retry.Backoff = retry.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	return c
}

// validate reports the first field of c (with defaults) that k cannot work with;
// cfg names the config type in the error.
func (c EndpointConfig) validate(k *endpointKind, cfg string) error {
	c = c.withDefaults(k)
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("vector: %s.BaseURL %q: want an absolute http or https URL", cfg, c.BaseURL)
	case c.Model == "":
		return fmt.Errorf("vector: %s.Model is empty: name the server's model", cfg)
	case c.Dimension <= 0:
		return fmt.Errorf("vector: %s.Dimension %d (model %s): want the model's vector length, above 0", cfg, c.Dimension, c.Model)
	case c.BatchSize < 0:
		return fmt.Errorf("vector: %s.BatchSize %d is negative", cfg, c.BatchSize)
	case k.maxBatch > 0 && c.BatchSize > k.maxBatch:
		return fmt.Errorf("vector: %s.BatchSize %d: the server takes at most %d inputs per request", cfg, c.BatchSize, k.maxBatch)
	case c.Concurrency < 0:
		return fmt.Errorf("vector: %s.Concurrency %d is negative", cfg, c.Concurrency)
	case c.Timeout < 0:
		return fmt.Errorf("vector: %s.Timeout %v is negative", cfg, c.Timeout)
	}
	if err := c.Retry.Validate(); err != nil {
		return fmt.Errorf("vector: %s.Retry: %w", cfg, err)
	}
	return nil
}

// HTTPError is the error of a request an HTTP embedder's server answered with a
// status other than 2xx.
type HTTPError struct {
	// Embedder is "openai" or "ollama".
	Embedder string
	// Model is the configured model.
	Model string
	// URL is the endpoint the request went to.
	URL string
	// StatusCode is the response's HTTP status.
	StatusCode int
	// Message is the server's error message (OpenAI's error.message, Ollama's
	// error), or the start of the body when it has none.
	Message string
	// RetryAfter is the wait the server asked for in a Retry-After header; 0 when
	// there was none.
	RetryAfter time.Duration
}

// Error names the embedder, model, URL and status, and gives the server's message.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("vector: %s model %s: POST %s: %d %s: %s", e.Embedder, e.Model, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// transportError is a request that got no HTTP answer: a connection error, a
// body cut short or the per-request Timeout.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Retryable reports whether err, from an HTTP embedder, is worth another attempt:
// an HTTPError of status 429 or 5xx, or a request that got no answer (a transport
// error or the per-request Timeout). It is the default EndpointConfig.Retry.If.
// Other statuses (400, 401, 403, 404, ...), a malformed response, a wrong
// dimension and the end of the caller's context are not.
func Retryable(err error) bool {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.StatusCode == http.StatusTooManyRequests || he.StatusCode >= 500
	}
	_, ok := errors.AsType[*transportError](err)
	return ok
}

// httpEmbedder is the plumbing the HTTP embedders share: batching, the POST of
// JSON, timeouts, retries and the checks of every response. Its methods make
// OpenAI and Ollama Embedders.
type httpEmbedder struct {
	kind   *endpointKind
	cfg    EndpointConfig
	url    string
	header http.Header
	// request returns the JSON body of a request for texts.
	request func(texts []string) any
}

func newHTTPEmbedder(k *endpointKind, cfg EndpointConfig, header http.Header, request func([]string) any) *httpEmbedder {
	cfg = cfg.withDefaults(k)
	header.Set("Content-Type", "application/json")
	header.Set("Accept", "application/json")
	return &httpEmbedder{kind: k, cfg: cfg, url: cfg.BaseURL + k.path, header: header, request: request}
}

// Dimension is the configured length of the model's vectors.
func (h *httpEmbedder) Dimension() int {
	if h == nil {
		return 0
	}
	return h.cfg.Dimension
}

// Model is the configured model name.
func (h *httpEmbedder) Model() string {
	if h == nil {
		return ""
	}
	return h.cfg.Model
}

// Embed sends texts to the server in batches of at most BatchSize, Concurrency
// batches at a time, each request retried under Retry, and returns one vector per
// text in order. Every vector is checked to be Dimension long (ErrDimension). On
// any error no vector is returned. An empty texts sends nothing.
func (h *httpEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if h == nil {
		return nil, errors.New("vector: an HTTP embedder not made by NewOpenAI or NewOllama")
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	out := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.cfg.Concurrency)
	for start := 0; start < len(texts) && gctx.Err() == nil; start += h.cfg.BatchSize {
		end := min(start+h.cfg.BatchSize, len(texts))
		g.Go(func() error {
			vecs, err := h.batch(gctx, start, texts[start:end])
			copy(out[start:end], vecs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vector: %s model %s: %w", h.kind.name, h.cfg.Model, err)
	}
	return out, nil
}

// batch embeds texts, which start at index offset of the Embed call.
func (h *httpEmbedder) batch(ctx context.Context, offset int, texts []string) ([][]float32, error) {
	body, err := json.Marshal(h.request(texts))
	if err != nil {
		return nil, fmt.Errorf("vector: %s model %s: encoding the request: %w", h.kind.name, h.cfg.Model, err)
	}
	resp, err := h.post(ctx, body)
	if err != nil {
		return nil, err
	}
	vecs, err := h.kind.decode(resp, len(texts))
	if err == nil && len(vecs) != len(texts) {
		err = fmt.Errorf("%d embeddings for %d inputs", len(vecs), len(texts))
	}
	if err != nil {
		return nil, fmt.Errorf("vector: %s model %s: response of %s to inputs %d to %d: %w", h.kind.name, h.cfg.Model, h.url, offset, offset+len(texts)-1, err)
	}
	for i, v := range vecs {
		if len(v) != h.cfg.Dimension {
			return nil, fmt.Errorf("%w: %s model %s: input %d has %d elements, want %d", ErrDimension, h.kind.name, h.cfg.Model, offset+i, len(v), h.cfg.Dimension)
		}
	}
	return vecs, nil
}

// post sends body under the retry policy and returns the body of the first 2xx
// response.
func (h *httpEmbedder) post(ctx context.Context, body []byte) ([]byte, error) {
	var out []byte
	var notBefore time.Time // from the last response's Retry-After
	err := retry.Do(ctx, h.cfg.Retry, func(ctx context.Context, attempt int) error {
		if wait := time.Until(notBefore); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("vector: %s model %s: waiting out Retry-After: %w", h.kind.name, h.cfg.Model, ctx.Err())
			case <-t.C:
			}
		}
		var err error
		out, err = h.once(ctx, body)
		if he, ok := errors.AsType[*HTTPError](err); ok && he.RetryAfter > 0 {
			notBefore = time.Now().Add(min(he.RetryAfter, maxRetryAfter))
		}
		return err
	})
	return out, err
}

// once sends body once, bounded by Timeout.
func (h *httpEmbedder) once(ctx context.Context, body []byte) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("vector: %s model %s: %w", h.kind.name, h.cfg.Model, err)
	}
	req.Header = h.header.Clone()
	resp, err := h.cfg.HTTPClient.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		resp.Body.Close()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("vector: %s model %s: POST %s: %w", h.kind.name, h.cfg.Model, h.url, ctx.Err())
	case err != nil && actx.Err() != nil:
		return nil, &transportError{fmt.Errorf("vector: %s model %s: POST %s: no answer within Timeout %v: %w", h.kind.name, h.cfg.Model, h.url, h.cfg.Timeout, err)}
	case err != nil:
		return nil, &transportError{fmt.Errorf("vector: %s model %s: POST %s: %w", h.kind.name, h.cfg.Model, h.url, err)}
	case len(data) > maxResponseBytes:
		return nil, fmt.Errorf("vector: %s model %s: POST %s: response above %d bytes", h.kind.name, h.cfg.Model, h.url, maxResponseBytes)
	case resp.StatusCode/100 != 2:
		return nil, &HTTPError{Embedder: h.kind.name, Model: h.cfg.Model, URL: h.url, StatusCode: resp.StatusCode,
			Message: errorMessage(data), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return data, nil
}

// errorMessage returns the message of an error body: OpenAI's
// {"error":{"message":...}}, Ollama's {"error":"..."}, or else the body's start.
func errorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil && s != "" {
			return s
		}
		var o struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &o) == nil && o.Message != "" {
			return o.Message
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date. It returns 0
// for an absent, malformed or past value.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
