package vector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// textVec is the vector the test servers give text: the same text always gets the
// same vector, and texts get different ones.
func textVec(text string, dim int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(dim)))
	v := make([]float32, dim)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

// reply is how a test server answers one request; the zero reply is a success.
type reply struct {
	status     int    // an error status, answered with the format's error body
	retryAfter string // a Retry-After header with status
	hang       bool   // no answer until the request's context ends
	drop       bool   // close the connection without an answer
	short      int    // answer with one vector too few when > 0
	badDim     int    // make the vector of the batch's input badDim-1 one element short when > 0
}

// wireFormat is one documented HTTP embedding API as a test server speaks it.
type wireFormat struct {
	name string
	path string
	// parse reads a request body: the model and the inputs; it fails the request
	// (400) if a documented field is wrong.
	parse func(body []byte) (model string, inputs []string, err error)
	// ok writes the documented success body.
	ok func(w http.ResponseWriter, model string, vecs [][]float32)
	// fail writes the documented error body.
	fail func(w http.ResponseWriter, status int, msg string)
	// embedder makes the embedder under test on base.
	embedder func(base string, cfg vector.EndpointConfig) (vector.Embedder, error)
}

var openAIWire = wireFormat{
	name: "openai",
	path: "/v1/embeddings",
	parse: func(body []byte) (string, []string, error) {
		var req struct {
			Model          string   `json:"model"`
			Input          []string `json:"input"`
			EncodingFormat string   `json:"encoding_format"`
			Dimensions     *int     `json:"dimensions"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return "", nil, err
		}
		if req.EncodingFormat != "float" || req.Dimensions != nil {
			return "", nil, fmt.Errorf("encoding_format %q, dimensions %v: want float and none", req.EncodingFormat, req.Dimensions)
		}
		return req.Model, req.Input, nil
	},
	// ok lists the data in reverse order: the API gives each its index, and a
	// client must go by it.
	ok: func(w http.ResponseWriter, model string, vecs [][]float32) {
		type datum struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := make([]datum, 0, len(vecs))
		for i := len(vecs) - 1; i >= 0; i-- {
			data = append(data, datum{"embedding", i, vecs[i]})
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": model,
			"usage": map[string]int{"prompt_tokens": len(vecs), "total_tokens": len(vecs)}})
	},
	fail: func(w http.ResponseWriter, status int, msg string) {
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": nil}})
	},
	embedder: func(base string, cfg vector.EndpointConfig) (vector.Embedder, error) {
		cfg.BaseURL = base + "/v1"
		return vector.NewOpenAI(vector.OpenAIConfig{EndpointConfig: cfg, APIKey: "sk-test"})
	},
}

var ollamaWire = wireFormat{
	name: "ollama",
	path: "/api/embed",
	parse: func(body []byte) (string, []string, error) {
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		err := json.Unmarshal(body, &req)
		return req.Model, req.Input, err
	},
	ok: func(w http.ResponseWriter, model string, vecs [][]float32) {
		writeJSON(w, http.StatusOK, map[string]any{"model": model, "embeddings": vecs,
			"total_duration": 14143917, "load_duration": 1019500, "prompt_eval_count": len(vecs)})
	},
	fail: func(w http.ResponseWriter, status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	},
	embedder: func(base string, cfg vector.EndpointConfig) (vector.Embedder, error) {
		cfg.BaseURL = base
		return vector.NewOllama(vector.OllamaConfig{EndpointConfig: cfg})
	},
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// wireServer is a test server of one wire format that answers request n (from 1)
// as script(n) says, and records what it was sent.
type wireServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	batches  []int       // the inputs of each request, sorted       // the number of inputs of each request
	at       []time.Time // when each request came
}

func newWireServer(t *testing.T, f wireFormat, check func(r *http.Request) error, script func(n int64) reply) *wireServer {
	s := &wireServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		var body []byte
		model, inputs, err := "", []string(nil), error(nil)
		if r.Method != http.MethodPost || r.URL.Path != f.path || r.Header.Get("Content-Type") != "application/json" {
			err = fmt.Errorf("%s %s (Content-Type %q): want POST %s of JSON", r.Method, r.URL.Path, r.Header.Get("Content-Type"), f.path)
		} else if check != nil {
			err = check(r)
		}
		if err == nil {
			if body, err = io.ReadAll(r.Body); err == nil {
				model, inputs, err = f.parse(body)
			}
		}
		s.mu.Lock()
		s.batches = append(s.batches, len(inputs))
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
		if err != nil {
			f.fail(w, http.StatusBadRequest, err.Error())
			return
		}
		rep := script(n)
		switch {
		case rep.hang:
			<-r.Context().Done()
			return
		case rep.drop:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case rep.status != 0:
			if rep.retryAfter != "" {
				w.Header().Set("Retry-After", rep.retryAfter)
			}
			f.fail(w, rep.status, fmt.Sprintf("scripted %d", rep.status))
			return
		}
		vecs := make([][]float32, len(inputs)-rep.short)
		for i := range vecs {
			vecs[i] = textVec(inputs[i], 8)
		}
		if rep.badDim > 0 {
			vecs[rep.badDim-1] = vecs[rep.badDim-1][1:]
		}
		f.ok(w, model, vecs)
	}))
	t.Cleanup(s.Close)
	return s
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("text %d", i)
	}
	return out
}

// fast is a backoff that barely waits, so that the retry tests run quickly.
var fast = retry.Backoff{Initial: time.Millisecond, Max: time.Millisecond}

// TestHTTPEmbedders runs one table against a server of each wire format:
// batching, retries (counted by the server), the errors that are not retried,
// the checks of the answer, and the per-request timeout.
func TestHTTPEmbedders(t *testing.T) {
	ok := func(int64) reply { return reply{} }
	first := func(r reply) func(int64) reply {
		return func(n int64) reply {
			if n == 1 {
				return r
			}
			return reply{}
		}
	}
	for _, tc := range []struct {
		name     string
		texts    int
		cfg      vector.EndpointConfig
		script   func(n int64) reply
		requests int64
		batches  []int    // the inputs of each request, sorted
		want     []string // parts of the error; none for a success
		is       error
	}{
		{name: "one batch", texts: 3, script: ok, requests: 1, batches: []int{3}},
		{name: "batches split", texts: 10, cfg: vector.EndpointConfig{BatchSize: 4}, script: ok, requests: 3, batches: []int{2, 4, 4}},
		{name: "batches in parallel", texts: 10, cfg: vector.EndpointConfig{BatchSize: 3, Concurrency: 2}, script: ok, requests: 4, batches: []int{1, 3, 3, 3}},
		{name: "empty input sends nothing", texts: 0, script: ok, requests: 0},
		{name: "500 then success", texts: 2, script: first(reply{status: 500}), requests: 2, batches: []int{2, 2}},
		{name: "503 until attempts run out", texts: 2, cfg: vector.EndpointConfig{Retry: retry.Policy{MaxAttempts: 3}},
			script: func(int64) reply { return reply{status: 503} }, requests: 3, batches: []int{2, 2, 2},
			want: []string{"gave up after 3 attempts", "503", "scripted 503", "model m1"}},
		{name: "dropped connection then success", texts: 2, script: first(reply{drop: true}), requests: 2, batches: []int{2, 2}},
		{name: "400 is not retried", texts: 2, script: first(reply{status: 400}), requests: 1, batches: []int{2},
			want: []string{"400 Bad Request", "scripted 400", "model m1"}},
		{name: "401 is not retried", texts: 2, script: first(reply{status: 401}), requests: 1, batches: []int{2}, want: []string{"401", "scripted 401"}},
		{name: "403 is not retried", texts: 2, script: first(reply{status: 403}), requests: 1, batches: []int{2}, want: []string{"403"}},
		{name: "404 is not retried", texts: 2, script: first(reply{status: 404}), requests: 1, batches: []int{2}, want: []string{"404"}},
		{name: "wrong dimension names model and input", texts: 6, cfg: vector.EndpointConfig{BatchSize: 4},
			script: func(n int64) reply { return reply{badDim: 2 * int(n-1)} }, requests: 2, batches: []int{2, 4},
			want: []string{"model m1", "input 5", "7 elements, want 8"}, is: vector.ErrDimension},
		{name: "too few embeddings", texts: 3, script: first(reply{short: 1}), requests: 1, batches: []int{3},
			want: []string{"2 embeddings for 3 inputs", "model m1", "inputs 0 to 2"}},
		{name: "timeout per request", texts: 1, cfg: vector.EndpointConfig{Timeout: 100 * time.Millisecond, Retry: retry.Policy{MaxAttempts: 2}},
			script: func(int64) reply { return reply{hang: true} }, requests: 2, batches: []int{1, 1},
			want: []string{"no answer within Timeout 100ms", "gave up after 2 attempts"}, is: context.DeadlineExceeded},
	} {
		for _, f := range []wireFormat{openAIWire, ollamaWire} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				srv := newWireServer(t, f, nil, tc.script)
				cfg := tc.cfg
				cfg.Model, cfg.Dimension = "m1", 8
				cfg.Retry.Backoff = fast
				e, err := f.embedder(srv.URL, cfg)
				if err != nil {
					t.Fatal(err)
				}
				in := texts(tc.texts)
				got, err := e.Embed(t.Context(), in)
				if n := srv.requests.Load(); n != tc.requests {
					t.Errorf("%d requests, want %d", n, tc.requests)
				}
				srv.mu.Lock()
				batches := slices.Sorted(slices.Values(srv.batches))
				srv.mu.Unlock()
				if !slices.Equal(batches, tc.batches) {
					t.Errorf("batches of %v inputs, want %v", batches, tc.batches)
				}
				if tc.want != nil {
					if err == nil || got != nil {
						t.Fatalf("got %d vectors, error %v; want no vector and an error", len(got), err)
					}
					for _, w := range tc.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not say %q", err, w)
						}
					}
					if tc.is != nil && !errors.Is(err, tc.is) {
						t.Errorf("error %v does not match %v", err, tc.is)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got == nil || len(got) != len(in) {
					t.Fatalf("%d vectors for %d texts", len(got), len(in))
				}
				for i, v := range got {
					if !slices.Equal(v, textVec(in[i], 8)) {
						t.Errorf("vector %d is not text %d's", i, i)
					}
				}
			})
		}
	}
}

// TestRetryAfter: a 429 with Retry-After: 1 is retried no sooner than a second
// later, though the backoff alone would wait a millisecond.
func TestRetryAfter(t *testing.T) {
	for _, f := range []wireFormat{openAIWire, ollamaWire} {
		t.Run(f.name, func(t *testing.T) {
			srv := newWireServer(t, f, nil, func(n int64) reply {
				if n == 1 {
					return reply{status: http.StatusTooManyRequests, retryAfter: "1"}
				}
				return reply{}
			})
			e, err := f.embedder(srv.URL, vector.EndpointConfig{Model: "m1", Dimension: 8, Retry: retry.Policy{Backoff: fast}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(t.Context(), texts(2)); err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.at) != 2 {
				t.Fatalf("%d requests, want 2", len(srv.at))
			}
			if gap := srv.at[1].Sub(srv.at[0]); gap < time.Second {
				t.Errorf("retried %v after the 429, want at least the Retry-After of 1s", gap)
			}
		})
	}
}

// TestOpenAIRequest: the API key goes in the Authorization header, "dimensions" is
// sent only with SendDimensions, and a wrong key's 401 is not retried and carries
// OpenAI's message.
func TestOpenAIRequest(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		seen.Store(req)
		if r.Header.Get("Authorization") != "Bearer sk-right" {
			openAIWire.fail(w, http.StatusUnauthorized, "Incorrect API key provided")
			return
		}
		openAIWire.ok(w, "text-embedding-3-small", [][]float32{textVec("a", 8)})
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, key string
		send      bool
		dims      any // the "dimensions" field sent; nil for none
		want      string
	}{
		{"right key", "sk-right", false, nil, ""},
		{"dimensions sent", "sk-right", true, float64(8), ""},
		{"wrong key", "sk-wrong", false, nil, "401 Unauthorized: Incorrect API key provided"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := vector.NewOpenAI(vector.OpenAIConfig{APIKey: tc.key, SendDimensions: tc.send,
				EndpointConfig: vector.EndpointConfig{BaseURL: srv.URL, Model: "text-embedding-3-small", Dimension: 8, Retry: retry.Policy{Backoff: fast}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Embed(t.Context(), []string{"a"})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var he *vector.HTTPError
			if tc.want != "" && (!errors.As(err, &he) || he.StatusCode != 401 || strings.Contains(err.Error(), "attempts")) {
				t.Errorf("error %v: want an HTTPError 401 sent once", err)
			}
			req := seen.Load().(map[string]any)
			if req["model"] != "text-embedding-3-small" || req["encoding_format"] != "float" || req["dimensions"] != tc.dims {
				t.Errorf("request %v: want the model, encoding_format float and dimensions %v", req, tc.dims)
			}
		})
	}
}

// TestOllamaRequest: Truncate and KeepAlive are sent when set, and not otherwise.
func TestOllamaRequest(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		seen.Store(req)
		ollamaWire.ok(w, "all-minilm", [][]float32{textVec("a", 8)})
	}))
	defer srv.Close()
	no := false
	for _, tc := range []struct {
		name     string
		truncate *bool
		keep     string
		want     map[string]any
	}{
		{"defaults", nil, "", map[string]any{"model": "all-minilm", "input": []any{"a"}}},
		{"truncate and keep_alive", &no, "10m", map[string]any{"model": "all-minilm", "input": []any{"a"}, "truncate": false, "keep_alive": "10m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := vector.NewOllama(vector.OllamaConfig{Truncate: tc.truncate, KeepAlive: tc.keep,
				EndpointConfig: vector.EndpointConfig{BaseURL: srv.URL, Model: "all-minilm", Dimension: 8}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(t.Context(), []string{"a"}); err != nil {
				t.Fatal(err)
			}
			if got := seen.Load().(map[string]any); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("request %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEndpointValidate: what NewOpenAI and NewOllama refuse.
func TestEndpointValidate(t *testing.T) {
	good := vector.EndpointConfig{BaseURL: "http://127.0.0.1:1", Model: "m", Dimension: 8}
	with := func(f func(*vector.EndpointConfig)) vector.EndpointConfig { c := good; f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  vector.EndpointConfig
		want string // "" for valid
	}{
		{"valid", good, ""},
		{"no model", with(func(c *vector.EndpointConfig) { c.Model = "" }), "Model is empty"},
		{"no dimension", with(func(c *vector.EndpointConfig) { c.Dimension = 0 }), "Dimension 0"},
		{"relative URL", with(func(c *vector.EndpointConfig) { c.BaseURL = "localhost:11434" }), "BaseURL"},
		{"negative batch", with(func(c *vector.EndpointConfig) { c.BatchSize = -1 }), "BatchSize -1"},
		{"negative timeout", with(func(c *vector.EndpointConfig) { c.Timeout = -time.Second }), "Timeout"},
		{"bad retry", with(func(c *vector.EndpointConfig) { c.Retry.MaxAttempts = -1 }), "Retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, oerr := vector.NewOpenAI(vector.OpenAIConfig{EndpointConfig: tc.cfg})
			_, lerr := vector.NewOllama(vector.OllamaConfig{EndpointConfig: tc.cfg})
			for name, err := range map[string]error{"openai": oerr, "ollama": lerr} {
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
					t.Errorf("%s: error %v, want %q", name, err, tc.want)
				}
			}
		})
	}
	if err := (vector.OpenAIConfig{EndpointConfig: vector.EndpointConfig{Model: "m", Dimension: 8, BatchSize: 2049}, APIKey: "k"}).Validate(); err == nil || !strings.Contains(err.Error(), "BatchSize 2049") {
		t.Errorf("OpenAI BatchSize 2049: %v, want refused (the API takes at most 2048 inputs)", err)
	}
	if err := (vector.OpenAIConfig{EndpointConfig: vector.EndpointConfig{Model: "m", Dimension: 8}}).Validate(); err == nil || !strings.Contains(err.Error(), "APIKey") {
		t.Errorf("api.openai.com without a key: %v, want refused", err)
	}
	if err := (vector.OllamaConfig{EndpointConfig: good, KeepAlive: "forever"}).Validate(); err == nil || !strings.Contains(err.Error(), "KeepAlive") {
		t.Errorf("KeepAlive forever: %v, want refused", err)
	}
}

// TestZeroEmbedders: an embedder not made by its constructor fails, it does not
// panic.
func TestZeroEmbedders(t *testing.T) {
	for _, e := range []vector.Embedder{&vector.OpenAI{}, &vector.Ollama{}, vector.OpenAI{}, vector.Ollama{}} {
		if _, err := e.Embed(t.Context(), []string{"x"}); err == nil || e.Dimension() != 0 || e.Model() != "" {
			t.Errorf("%T: Embed err %v, Dimension %d, Model %q", e, err, e.Dimension(), e.Model())
		}
	}
}
