package minilm

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// benchWords are the words the benchmark's texts are drawn from.
var benchWords = strings.Fields(`the a of and to in is was for on that with as by at from
	his her it an were which are this be has had or not but have one their they its new after
	first two been also other more who all would time when year into over world city team game
	school north south river house music film party state water power family history church
	station village company government research building language national database cluster
	replica partition vector search index embedding sentence model latency throughput`)

// benchTexts returns n texts of words words each, drawn with a fixed seed.
func benchTexts(seed uint64, n, words int) []string {
	rng := rand.New(rand.NewPCG(seed, 2))
	texts := make([]string, n)
	for i := range texts {
		w := make([]string, words)
		for j := range w {
			w[j] = benchWords[rng.IntN(len(benchWords))]
		}
		texts[i] = strings.Join(w, " ") + "."
	}
	return texts
}

// onnxRate runs testdata/onnx_bench.py in the reference's Python environment:
// ONNX Runtime on one thread, tokenizing with Hugging Face tokenizers, embeds
// texts as one batch for at least seconds and reports sentences per second.
func onnxRate(b *testing.B, texts []string, maxTokens int, seconds float64) float64 {
	b.Helper()
	e, err := devenv.Load(io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	reqs, err := filepath.Abs(filepath.Join("testdata", "requirements.txt"))
	if err != nil {
		b.Fatal(err)
	}
	python, err := e.Venv(b.Context(), "pyref-venv", reqs)
	if err != nil {
		b.Fatal(err)
	}
	jar, err := e.FetchJar(b.Context(), devenv.MiniLMONNXJar)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := json.Marshal(texts)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "texts.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.CommandContext(b.Context(), python, filepath.Join("testdata", "onnx_bench.py"),
		filepath.Join(modelDir(b), "tokenizer.json"), filepath.Join(jar, "all-minilm-l6-v2.onnx"),
		path, strconv.Itoa(maxTokens), strconv.FormatFloat(seconds, 'f', -1, 64))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	var res struct {
		Rate float64 `json:"sentences_per_s"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("%s: %v", cmd, err)
	}
	return res.Rate
}

// BenchmarkEmbedVsONNX embeds short texts (12 words, about 15 tokens) 32 per
// op and long ones (220 words, cut at 256 tokens) 8 per op, each set as one
// batch, on one core: the Go side with GOMAXPROCS 1 and Config{Workers: 1},
// ONNX Runtime (testdata/onnx_bench.py, intra_op_num_threads 1) on the same
// texts in the same run, both from the strings (tokenizing included). It
// reports both rates and go/onnx, their ratio (the goal: at least 0.5).
// ONNX_BENCH_SECONDS sets how long the ONNX side runs per case (default 5).
func BenchmarkEmbedVsONNX(b *testing.B) {
	seconds := 5.0
	if v, err := strconv.ParseFloat(os.Getenv("ONNX_BENCH_SECONDS"), 64); err == nil && v > 0 {
		seconds = v
	}
	m, err := Load(modelDir(b), Config{Workers: 1, BatchSize: 32})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		texts []string
	}{
		{"short", benchTexts(1, 32, 12)},
		{"long", benchTexts(2, 8, 220)},
	} {
		tokens := 0
		for _, s := range c.texts {
			tokens += len(m.tok.encode(s, m.cfg.MaxTokens))
		}
		onnx := onnxRate(b, c.texts, m.cfg.MaxTokens, seconds)
		b.Run(c.name, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			for b.Loop() {
				if _, err := m.Embed(b.Context(), c.texts); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(b.N*len(c.texts)) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "go_sentences/s")
			b.ReportMetric(onnx, "onnx_sentences/s")
			b.ReportMetric(rate/onnx, "go/onnx")
			b.ReportMetric(float64(tokens)/float64(len(c.texts)), "tokens/text")
		})
	}
}
