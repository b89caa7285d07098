package minilm

import (
	"runtime"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // "" means valid
	}{
		{"zero", Config{}, ""},
		{"set", Config{MaxTokens: 128, BatchSize: 8, Workers: 2}, ""},
		{"shortest", Config{MaxTokens: 3}, ""},
		{"longest", Config{MaxTokens: 512}, ""},
		{"specials only", Config{MaxTokens: 2}, "MaxTokens 2"},
		{"past positions", Config{MaxTokens: 513}, "MaxTokens 513"},
		{"negative tokens", Config{MaxTokens: -1}, "MaxTokens -1"},
		{"negative batch", Config{BatchSize: -1}, "BatchSize -1"},
		{"negative workers", Config{Workers: -2}, "Workers -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Validate() = %v, want an error with %q", err, tc.err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults(256)
	want := Config{MaxTokens: 256, BatchSize: 32, Workers: runtime.GOMAXPROCS(0)}
	if got != want {
		t.Fatalf("defaults = %+v, want %+v", got, want)
	}
	if set := (Config{MaxTokens: 64, BatchSize: 4, Workers: 1}); set.withDefaults(256) != set {
		t.Fatalf("defaults changed %+v into %+v", set, set.withDefaults(256))
	}
}
