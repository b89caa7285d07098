package minilm

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// The reference is testdata/reference.py: Hugging Face tokenizers for the
// ids, ONNX Runtime on langchain4j's ONNX export for the vectors, run in a
// Python environment the project's tooling makes in the cache, with the
// versions pinned in testdata/requirements.txt.

// runReference runs reference.py with args and decodes what it prints into v.
func runReference(t *testing.T, v any, args ...string) {
	t.Helper()
	e, err := devenv.Load(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := filepath.Abs(filepath.Join("testdata", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	python, err := e.Venv(t.Context(), "pyref-venv", reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, append([]string{filepath.Join("testdata", "reference.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
}

// onnxModel is the ONNX export, fetched from Maven Central into the cache.
func onnxModel(t *testing.T) string {
	t.Helper()
	e, err := devenv.Load(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := e.FetchJar(t.Context(), devenv.MiniLMONNXJar)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "all-minilm-l6-v2.onnx")
}

// TestReference is the acceptance check on testdata/sentences.json:
// token ids equal Hugging Face's on every sentence, and vectors match ONNX
// Runtime's at cosine ≥ 0.9999. Under the race detector, whose
// instrumentation slows the forward pass many times over, the vectors are
// compared for the sentences of up to 64 tokens only; a run without -race
// compares them all.
func TestReference(t *testing.T) {
	m := testModel(t)
	path := filepath.Join("testdata", "sentences.json")
	var sentences []string
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sentences); err != nil {
		t.Fatal(err)
	}
	var ref struct {
		IDs     [][]int     `json:"ids"`
		Vectors [][]float64 `json:"vectors"`
	}
	runReference(t, &ref, "vectors", filepath.Join(modelDir(t), "tokenizer.json"), onnxModel(t), path, strconv.Itoa(m.cfg.MaxTokens))
	if len(ref.IDs) != len(sentences) || len(ref.Vectors) != len(sentences) {
		t.Fatalf("reference: %d ids and %d vectors for %d sentences", len(ref.IDs), len(ref.Vectors), len(sentences))
	}

	same := 0
	for i, s := range sentences {
		got := m.tok.encode(s, m.cfg.MaxTokens)
		if slices.Equal(got, ref.IDs[i]) {
			same++
			continue
		}
		t.Errorf("sentence %d %+q:\n got  %v\n want %v", i, s, got, ref.IDs[i])
	}
	t.Logf("token ids equal Hugging Face's on %d of %d sentences", same, len(sentences))

	var texts []string
	var idx []int
	for i, s := range sentences {
		if !raceEnabled || len(ref.IDs[i]) <= 64 {
			texts, idx = append(texts, s), append(idx, i)
		}
	}
	got, err := m.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	lowest, at := 2.0, -1
	for k, v := range got {
		c := cosine(v, ref.Vectors[idx[k]])
		if c < lowest {
			lowest, at = c, idx[k]
		}
		if c < 0.9999 {
			t.Errorf("sentence %d %+q: cosine %.6f with ONNX Runtime, want ≥ 0.9999", idx[k], sentences[idx[k]], c)
		}
	}
	t.Logf("vectors of %d of %d sentences compared with ONNX Runtime: lowest cosine %.12f (sentence %d)", len(texts), len(sentences), lowest, at)
}

// TestEveryCharacter compares, for every code point alone, the normalizer
// (what it becomes) and the pre-tokenizer (whether it is split off as
// punctuation) with Hugging Face's: the character tables are where a
// reimplementation drifts.
func TestEveryCharacter(t *testing.T) {
	var ref struct {
		Norm  map[string]string `json:"norm"`
		Punct []rune            `json:"punct"`
	}
	runReference(t, &ref, "chars", filepath.Join(modelDir(t), "tokenizer.json"))
	punct := make(map[rune]bool, len(ref.Punct))
	for _, r := range ref.Punct {
		punct[r] = true
	}
	normDiffs, punctDiffs := 0, 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		want, changed := ref.Norm[strconv.Itoa(int(r))]
		if !changed {
			want = string(r)
		}
		if got := normalize(string(r)); got != want {
			if normDiffs++; normDiffs <= 10 {
				t.Errorf("normalize(U+%04X %+q) = %+q, Hugging Face %+q", r, string(r), got, want)
			}
		}
		if isWhitespace(r) || isControl(r) {
			continue // never reaches the pre-tokenizer as itself
		}
		if isPunct(r) != punct[r] {
			if punctDiffs++; punctDiffs <= 10 {
				t.Errorf("isPunct(U+%04X %+q) = %v, Hugging Face %v", r, string(r), isPunct(r), punct[r])
			}
		}
	}
	if normDiffs+punctDiffs > 0 {
		t.Fatalf("%d code points normalised and %d split otherwise than by Hugging Face", normDiffs, punctDiffs)
	}
}

// TestRandomTexts compares the token ids of random strings that mix words,
// special tokens, spaces, controls and characters of many blocks.
func TestRandomTexts(t *testing.T) {
	m := testModel(t)
	var ref struct {
		Texts []string `json:"texts"`
		IDs   [][]int  `json:"ids"`
	}
	runReference(t, &ref, "random", filepath.Join(modelDir(t), "tokenizer.json"), "1", "3000", strconv.Itoa(m.cfg.MaxTokens))
	diffs := 0
	for i, s := range ref.Texts {
		if got := m.tok.encode(s, m.cfg.MaxTokens); !slices.Equal(got, ref.IDs[i]) {
			if diffs++; diffs <= 5 {
				t.Errorf("text %d %+q:\n got  %v\n want %v", i, s, got, ref.IDs[i])
			}
		}
	}
	t.Logf("token ids equal Hugging Face's on %d of %d random texts", len(ref.Texts)-diffs, len(ref.Texts))
}

func cosine(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}
