package minilm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFolder copies the model folder's small files into a temporary one and
// links the weights, so that a test can spoil one file.
func copyFolder(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{"config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json", "vocab.txt", filepath.Join("1_Pooling", "config.json")} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(src, "model.safetensors"), filepath.Join(dst, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestLoadRefuses spoils one file of a copy of the real folder at a time:
// Load must refuse a model it would compute wrongly, naming the file.
func TestLoadRefuses(t *testing.T) {
	src := modelDir(t)
	for _, tc := range []struct {
		name, file, old, new, err string
	}{
		{"activation", "config.json", `"hidden_act": "gelu"`, `"hidden_act": "relu"`, "config.json"},
		{"layers", "config.json", `"num_hidden_layers": 6`, `"num_hidden_layers": 12`, "config.json"},
		{"cls pooling", filepath.Join("1_Pooling", "config.json"), `"pooling_mode_cls_token": false`, `"pooling_mode_cls_token": true`, "1_Pooling"},
		{"no normalize", "modules.json", `sentence_transformers.models.Normalize`, `sentence_transformers.models.Dense`, "modules.json"},
		{"cased", "tokenizer.json", `"lowercase":true`, `"lowercase":false`, "BertNormalizer"},
		{"accents kept", "tokenizer.json", `"strip_accents":null`, `"strip_accents":false`, "strip_accents"},
		{"pre-tokenizer", "tokenizer.json", `"pre_tokenizer":{"type":"BertPreTokenizer"}`, `"pre_tokenizer":{"type":"Whitespace"}`, "pre_tokenizer"},
		{"empty special", "tokenizer.json", `"content":"[MASK]"`, `"content":""`, "added token 103 is empty"},
		{"special moved", "tokenizer.json", `"id":103`, `"id":104`, "added token \"[MASK]\" is 104"},
		{"vocab", "vocab.txt", "\nhello\n", "\nhallo\n", "vocab"},
		{"sequence length", "sentence_bert_config.json", `"max_seq_length": 256`, `"max_seq_length": 1024`, "max_seq_length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFolder(t, src)
			path := filepath.Join(dir, tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.old) {
				t.Fatalf("%s has no %q to spoil", tc.file, tc.old)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(dir, Config{})
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Load = %v, want an error naming %s and %q", err, dir, tc.err)
			}
		})
	}
	t.Run("bad config", func(t *testing.T) {
		if _, err := Load(src, Config{MaxTokens: 1000}); err == nil || !strings.Contains(err.Error(), "MaxTokens 1000") {
			t.Fatalf("Load = %v, want the Validate error", err)
		}
	})
	t.Run("no folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "none")
		if _, err := Load(dir, Config{}); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("Load = %v, want an error naming %s", err, dir)
		}
	})
}
