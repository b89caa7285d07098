package minilm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkEmbed embeds 32 sentences of testdata/sentences.json (the first
// 32: short ones, 3 to 40 tokens) per op and reports sentences per second.
func BenchmarkEmbed(b *testing.B) {
	m := testModel(b)
	raw, err := os.ReadFile(filepath.Join("testdata", "sentences.json"))
	if err != nil {
		b.Fatal(err)
	}
	var sentences []string
	if err := json.Unmarshal(raw, &sentences); err != nil {
		b.Fatal(err)
	}
	batch := sentences[:32]
	tokens := 0
	for _, s := range batch {
		tokens += len(m.tok.encode(s, m.cfg.MaxTokens))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Embed(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*len(batch))/secs, "sentences/s")
	b.ReportMetric(float64(b.N*tokens)/secs, "tokens/s")
}
