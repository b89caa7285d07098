package vector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// openAIKind is the wire format of OpenAI's POST /v1/embeddings, which many
// servers also speak (vLLM, LocalAI, llama.cpp's server, Ollama's /v1).
var openAIKind = &endpointKind{
	name:     "openai",
	baseURL:  "https://api.openai.com/v1",
	path:     "/embeddings",
	batch:    256,
	maxBatch: 2048,
	timeout:  30 * time.Second,
	decode:   decodeOpenAI,
}

// OpenAIConfig configures an OpenAI embedder: an OpenAI-compatible
// /embeddings endpoint. BaseURL defaults to https://api.openai.com/v1.
type OpenAIConfig struct {
	EndpointConfig
	// APIKey is sent as "Authorization: Bearer <APIKey>". Required when BaseURL is
	// OpenAI's own; other OpenAI-compatible servers may need none, and then no
	// Authorization header is sent.
	APIKey string
	// SendDimensions sends Dimension as the request's "dimensions" field, which asks
	// text-embedding-3 models for shortened vectors. Leave it false for models
	// that refuse the field, such as text-embedding-ada-002.
	SendDimensions bool
}

// Validate reports the first field the embedder cannot work with; zero fields
// count as their defaults.
func (c OpenAIConfig) Validate() error {
	if err := c.validate(openAIKind, "OpenAIConfig"); err != nil {
		return err
	}
	if c.APIKey == "" && c.withDefaults(openAIKind).BaseURL == openAIKind.baseURL {
		return errors.New("vector: OpenAIConfig.APIKey is empty: api.openai.com needs a key")
	}
	return nil
}

// OpenAI is an Embedder on an OpenAI-compatible POST {BaseURL}/embeddings. It
// asks for "encoding_format": "float", orders the vectors by their "index" and
// checks their count and length. It is safe for concurrent use.
type OpenAI struct{ *httpEmbedder }

// NewOpenAI returns an OpenAI embedder, or the error of cfg.Validate.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := http.Header{}
	if cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	type request struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		EncodingFormat string   `json:"encoding_format"`
		Dimensions     int      `json:"dimensions,omitempty"`
	}
	dims := 0
	if cfg.SendDimensions {
		dims = cfg.Dimension
	}
	return &OpenAI{newHTTPEmbedder(openAIKind, cfg.EndpointConfig, h, func(texts []string) any {
		return request{Model: cfg.Model, Input: texts, EncodingFormat: "float", Dimensions: dims}
	})}, nil
}

// decodeOpenAI reads {"data":[{"index":i,"embedding":[...]}...]} into input
// order: servers need not list the data in order.
func decodeOpenAI(body []byte, n int) ([][]float32, error) {
	var resp struct {
		Data []struct {
			Index     *int      `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if len(resp.Data) != n {
		return nil, fmt.Errorf("%d embeddings for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	for _, d := range resp.Data {
		switch {
		case d.Index == nil:
			return nil, errors.New("an embedding without an index")
		case *d.Index < 0 || *d.Index >= n:
			return nil, fmt.Errorf("index %d out of range for %d inputs", *d.Index, n)
		case out[*d.Index] != nil:
			return nil, fmt.Errorf("index %d given twice", *d.Index)
		}
		out[*d.Index] = d.Embedding
		if out[*d.Index] == nil {
			out[*d.Index] = []float32{}
		}
	}
	return out, nil
}
