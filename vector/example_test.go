package vector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/cassandraorm/cassandraorm-go/vector"
)

// openAIExampleServer answers POST /v1/embeddings as OpenAI documents it, with a
// 3-dimensional vector per input whose first element is the input's length, and
// counts the requests.
func openAIExampleServer(requests *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("Authorization") != "Bearer sk-example" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`)
			return
		}
		data := []map[string]any{}
		for i, in := range req.Input {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": []float32{float32(len(in)), 0.5, -1}})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": len(req.Input), "total_tokens": len(req.Input)}})
	}))
}

func ExampleNewOpenAI() {
	var requests atomic.Int64
	srv := openAIExampleServer(&requests)
	defer srv.Close()

	e, err := vector.NewOpenAI(vector.OpenAIConfig{
		APIKey: "sk-example",
		EndpointConfig: vector.EndpointConfig{
			BaseURL:   srv.URL + "/v1", // default https://api.openai.com/v1
			Model:     "text-embedding-3-small",
			Dimension: 3, // 1536 for text-embedding-3-small on api.openai.com
			BatchSize: 2,
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	vecs, err := e.Embed(context.Background(), []string{"shoe", "red shoe", "hat"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vecs, "in", requests.Load(), "requests")
	// Output:
	// [[4 0.5 -1] [8 0.5 -1] [3 0.5 -1]] in 2 requests
}

func ExampleNewCached() {
	var requests atomic.Int64
	srv := openAIExampleServer(&requests)
	defer srv.Close()

	inner, err := vector.NewOpenAI(vector.OpenAIConfig{APIKey: "sk-example",
		EndpointConfig: vector.EndpointConfig{BaseURL: srv.URL + "/v1", Model: "text-embedding-3-small", Dimension: 3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A memory store alone; vector.Tiered(mem, cassandraStore) would keep the
	// vectors across restarts and processes too.
	mem, err := vector.NewMemoryStore(vector.MemoryStoreConfig{MaxBytes: 64 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := vector.NewCached(inner, mem, vector.CachedConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, texts := range [][]string{{"shoe", "hat", "shoe"}, {"hat", "shoe"}, {"scarf", "hat"}} {
		if _, err := e.Embed(ctx, texts); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q: %d requests so far\n", texts, requests.Load())
	}
	fmt.Printf("%+v\n", e.Stats())
	// Output:
	// ["shoe" "hat" "shoe"]: 1 requests so far
	// ["hat" "shoe"]: 1 requests so far
	// ["scarf" "hat"]: 2 requests so far
	// {Hits:3 Shared:0 Embedded:3 Calls:2}
}

func ExampleNewOllama() {
	// A server of Ollama's POST /api/embed whose model gives 2-dimensional vectors.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		vecs := [][]float32{}
		for range req.Input {
			vecs = append(vecs, []float32{0.6, 0.8})
		}
		json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": vecs})
	}))
	defer srv.Close()

	for _, dim := range []int{2, 384} {
		e, err := vector.NewOllama(vector.OllamaConfig{KeepAlive: "10m",
			EndpointConfig: vector.EndpointConfig{BaseURL: srv.URL, Model: "all-minilm", Dimension: dim}})
		if err != nil {
			fmt.Println(err)
			return
		}
		vecs, err := e.Embed(context.Background(), []string{"shoe", "hat"})
		fmt.Println(vecs, err, errors.Is(err, vector.ErrDimension))
	}
	// Output:
	// [[0.6 0.8] [0.6 0.8]] <nil> false
	// [] vector: wrong dimension: ollama model all-minilm: input 0 has 2 elements, want 384 true
}
