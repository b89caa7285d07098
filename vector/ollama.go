package vector

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// ollamaKind is the wire format of Ollama's POST /api/embed.
var ollamaKind = &endpointKind{
	name:    "ollama",
	baseURL: "http://127.0.0.1:11434",
	path:    "/api/embed",
	batch:   64,
	timeout: 2 * time.Minute,
	decode:  decodeOllama,
}

// OllamaConfig configures an Ollama embedder. BaseURL defaults to
// http://127.0.0.1:11434.
type OllamaConfig struct {
	EndpointConfig
	// Truncate, when set, is sent as "truncate": false makes Ollama refuse an input
	// longer than the model's context instead of cutting it (its default is true).
	Truncate *bool
	// KeepAlive, when set, is sent as "keep_alive": how long Ollama keeps the model
	// loaded after the request, a Go duration such as "5m" ("-1s" keeps it loaded).
	KeepAlive string
}

// Validate reports the first field the embedder cannot work with; zero fields
// count as their defaults.
func (c OllamaConfig) Validate() error {
	if err := c.validate(ollamaKind, "OllamaConfig"); err != nil {
		return err
	}
	if c.KeepAlive != "" {
		if _, err := time.ParseDuration(c.KeepAlive); err != nil {
			return fmt.Errorf("vector: OllamaConfig.KeepAlive %q: want a duration such as 5m: %w", c.KeepAlive, err)
		}
	}
	return nil
}

// Ollama is an Embedder on Ollama's POST {BaseURL}/api/embed. It checks the count
// and length of the vectors. It is safe for concurrent use.
type Ollama struct{ *httpEmbedder }

// NewOllama returns an Ollama embedder, or the error of cfg.Validate.
func NewOllama(cfg OllamaConfig) (*Ollama, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	type request struct {
		Model     string   `json:"model"`
		Input     []string `json:"input"`
		Truncate  *bool    `json:"truncate,omitempty"`
		KeepAlive string   `json:"keep_alive,omitempty"`
	}
	return &Ollama{newHTTPEmbedder(ollamaKind, cfg.EndpointConfig, http.Header{}, func(texts []string) any {
		return request{Model: cfg.Model, Input: texts, Truncate: cfg.Truncate, KeepAlive: cfg.KeepAlive}
	})}, nil
}

// decodeOllama reads {"embeddings":[[...],...]}, which Ollama gives in input order.
func decodeOllama(body []byte, n int) ([][]float32, error) {
	var resp struct {
		Embeddings [][]float32 `json:"embeddings"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	return resp.Embeddings, nil
}
