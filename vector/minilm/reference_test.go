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

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// reference runs testdata/reference.py (Hugging Face tokenizers for the ids,
// ONNX Runtime on langchain4j's ONNX export for the vectors) on the
// sentences of testdata/sentences.json, with the Python environment and the
// ONNX model fetched into the cache by the project's tooling.
func reference(t *testing.T, dir string, maxTokens int) (sentences []string, ids [][]int, vectors [][]float64) {
	t.Helper()
	ctx := t.Context()
	e, err := devenv.Load(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	jar, err := e.FetchJar(ctx, devenv.MiniLMONNXJar)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := filepath.Abs(filepath.Join("testdata", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	python, err := e.Venv(ctx, "pyref-venv", reqs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "sentences.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sentences); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "reference.py"),
		filepath.Join(dir, "tokenizer.json"), filepath.Join(jar, "all-minilm-l6-v2.onnx"),
		filepath.Join("testdata", "sentences.json"), strconv.Itoa(maxTokens))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	var ref struct {
		IDs     [][]int     `json:"ids"`
		Vectors [][]float64 `json:"vectors"`
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if len(ref.IDs) != len(sentences) || len(ref.Vectors) != len(sentences) {
		t.Fatalf("%s: %d ids and %d vectors for %d sentences", cmd, len(ref.IDs), len(ref.Vectors), len(sentences))
	}
	return sentences, ref.IDs, ref.Vectors
}

// TestReference is the acceptance check: token ids equal Hugging
// Face's on every sentence, and vectors match ONNX Runtime's at cosine
// ≥ 0.9999. Under the race detector, whose instrumentation slows the forward
// pass many times over, the vectors are compared for the sentences of up to
// 64 tokens only; a run without -race compares them all.
func TestReference(t *testing.T) {
	m := testModel(t)
	sentences, ids, want := reference(t, modelDir(t), m.cfg.MaxTokens)

	same := 0
	for i, s := range sentences {
		got := m.tok.encode(s, m.cfg.MaxTokens)
		if slices.Equal(got, ids[i]) {
			same++
			continue
		}
		t.Errorf("sentence %d %q:\n got  %v\n want %v", i, s, got, ids[i])
	}
	t.Logf("token ids equal Hugging Face's on %d of %d sentences", same, len(sentences))

	var texts []string
	var idx []int
	for i, s := range sentences {
		if !raceEnabled || len(ids[i]) <= 64 {
			texts, idx = append(texts, s), append(idx, i)
		}
	}
	got, err := m.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	lowest, at := 2.0, -1
	for k, v := range got {
		c := cosine(v, want[idx[k]])
		if c < lowest {
			lowest, at = c, idx[k]
		}
		if c < 0.9999 {
			t.Errorf("sentence %d %q: cosine %.6f with ONNX Runtime, want ≥ 0.9999", idx[k], sentences[idx[k]], c)
		}
	}
	t.Logf("vectors of %d of %d sentences compared with ONNX Runtime: lowest cosine %.12f (sentence %d)", len(texts), len(sentences), lowest, at)
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
