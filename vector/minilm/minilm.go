package minilm

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cassandraorm/cassandraorm-go/vector"
)

// Dimension is the length of every vector the model gives.
const Dimension = 384

// Model is all-MiniLM-L6-v2 loaded for local use. It implements
// vector.Embedder and is safe for concurrent use: it is read-only after Load,
// and each Embed call computes in its own buffers.
type Model struct {
	name string
	cfg  Config
	tok  *tokenizer
	net  *bert
}

var _ vector.Embedder = (*Model)(nil)

// Load reads the sentence-transformers folder of all-MiniLM-L6-v2 at dir:
// model.safetensors, vocab.txt, tokenizer.json, config.json,
// sentence_bert_config.json, modules.json and 1_Pooling/config.json. It
// checks that they describe the model this package computes (BERT of 6
// layers, 384 wide, 12 heads, GELU; mean pooling; normalised output) and
// refuses, naming the file, any that does not. cfg.MaxTokens defaults to
// the folder's max_seq_length.
func Load(dir string, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seqLen, err := checkFolder(dir)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(seqLen)
	tok, err := loadTokenizer(filepath.Join(dir, "vocab.txt"), filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("minilm %s: %w", dir, err)
	}
	weights := filepath.Join(dir, "model.safetensors")
	st, err := openSafetensors(weights)
	if err != nil {
		return nil, fmt.Errorf("minilm %s: %w", dir, err)
	}
	net, err := loadBERT(st, len(tok.vocab))
	if err != nil {
		return nil, fmt.Errorf("minilm %s: %w", dir, err)
	}
	return &Model{
		// The digest and the token limit are in the name because both change
		// the vectors: a cache keyed by it never mixes two of them.
		name: fmt.Sprintf("all-MiniLM-L6-v2 sha256:%s max_tokens:%d", hex.EncodeToString(st.sha256[:6]), cfg.MaxTokens),
		cfg:  cfg,
		tok:  tok,
		net:  net,
	}, nil
}

// checkFolder checks the JSON files beside the weights and returns the
// folder's max_seq_length.
func checkFolder(dir string) (int, error) {
	var c struct {
		HiddenAct         string  `json:"hidden_act"`
		HiddenSize        int     `json:"hidden_size"`
		Intermediate      int     `json:"intermediate_size"`
		LayerNormEps      float64 `json:"layer_norm_eps"`
		MaxPositions      int     `json:"max_position_embeddings"`
		Heads             int     `json:"num_attention_heads"`
		Layers            int     `json:"num_hidden_layers"`
		PositionEmbedding string  `json:"position_embedding_type"`
		TypeVocab         int     `json:"type_vocab_size"`
	}
	if err := readJSON(dir, "config.json", &c); err != nil {
		return 0, err
	}
	if c.HiddenAct != "gelu" || c.HiddenSize != hidden || c.Intermediate != intermediate || c.LayerNormEps != layerNormEps ||
		c.MaxPositions != maxPositions || c.Heads != heads || c.Layers != numLayers || c.TypeVocab != typeVocab ||
		c.PositionEmbedding != "" && c.PositionEmbedding != "absolute" {
		return 0, fmt.Errorf("minilm %s: config.json %+v: want BERT with gelu, hidden %d, intermediate %d, eps %g, %d positions, %d heads, %d layers, %d token types",
			dir, c, hidden, intermediate, layerNormEps, maxPositions, heads, numLayers, typeVocab)
	}
	var p struct {
		Dim      int  `json:"word_embedding_dimension"`
		CLS      bool `json:"pooling_mode_cls_token"`
		Mean     bool `json:"pooling_mode_mean_tokens"`
		Max      bool `json:"pooling_mode_max_tokens"`
		MeanSqrt bool `json:"pooling_mode_mean_sqrt_len_tokens"`
	}
	if err := readJSON(dir, filepath.Join("1_Pooling", "config.json"), &p); err != nil {
		return 0, err
	}
	if p.Dim != hidden || !p.Mean || p.CLS || p.Max || p.MeanSqrt {
		return 0, fmt.Errorf("minilm %s: 1_Pooling/config.json %+v: want mean pooling only, dimension %d", dir, p, hidden)
	}
	var modules []struct {
		Type string `json:"type"`
	}
	if err := readJSON(dir, "modules.json", &modules); err != nil {
		return 0, err
	}
	want := []string{"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"}
	ok := len(modules) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = modules[i].Type == want[i]
	}
	if !ok {
		return 0, fmt.Errorf("minilm %s: modules.json %+v: want %v", dir, modules, want)
	}
	var s struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if err := readJSON(dir, "sentence_bert_config.json", &s); err != nil {
		return 0, err
	}
	if s.MaxSeqLength < 3 || s.MaxSeqLength > maxPositions {
		return 0, fmt.Errorf("minilm %s: sentence_bert_config.json: max_seq_length %d, want 3..%d", dir, s.MaxSeqLength, maxPositions)
	}
	return s.MaxSeqLength, nil
}

func readJSON(dir, name string, v any) error {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("minilm %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("minilm %s: %s: %w", dir, name, err)
	}
	return nil
}

// Embed returns one unit-length vector per text, in order: the mean of the
// encoder's outputs over the text's tokens (at most MaxTokens, [CLS] and
// [SEP] included). Texts go through the network BatchSize at a time; ctx is
// checked between batches.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for lo := 0; lo < len(texts); lo += m.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("minilm %s: texts %d..%d of %d: %w", m.name, lo, len(texts)-1, len(texts), err)
		}
		batch := texts[lo:min(lo+m.cfg.BatchSize, len(texts))]
		seqs := make([][]int, len(batch))
		for i, t := range batch {
			seqs[i] = m.tok.encode(t, m.cfg.MaxTokens)
		}
		out = append(out, m.net.forward(seqs, m.cfg.Workers)...)
	}
	return out, nil
}

// Dimension is 384.
func (m *Model) Dimension() int { return Dimension }

// Model names the model, the first bytes of its weights' SHA-256 and the
// token limit, e.g. "all-MiniLM-L6-v2 sha256:53aa51172d14 max_tokens:256".
func (m *Model) Model() string { return m.name }
