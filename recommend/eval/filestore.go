package eval

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cassandraorm/cassandraorm-go/vector"
)

// FileStore is a vector.CacheStore kept in one JSON file, so that a
// vector.Cached embedder in front of a slow local model embeds the movies of
// the evaluation once, not on every run. Each entry is keyed as
// vector.CacheKey is: the model's name and dimension and the SHA-256 of the
// text, so vectors of two models or two texts never mix. The whole file is
// read by OpenFileStore and rewritten (to a temporary file renamed over it)
// by each Put. FileStore is safe for concurrent use within one process; two
// processes writing one file at once may lose each other's entries, never
// corrupt them.
type FileStore struct {
	path string

	mu   sync.Mutex
	vecs map[vector.CacheKey][]float32
}

var _ vector.CacheStore = (*FileStore)(nil)

// fileEntry is one vector of the file.
type fileEntry struct {
	Model     string    `json:"model"`
	Dimension int       `json:"dimension"`
	SHA256    string    `json:"sha256"` // of the text, hex
	Vector    []float32 `json:"vector"`
}

// OpenFileStore reads the store at path; a missing file is an empty store
// (Put creates it, and its folder).
func OpenFileStore(path string) (*FileStore, error) {
	s := &FileStore{path: path, vecs: map[vector.CacheKey][]float32{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eval: embedding cache %s: %w", path, err)
	}
	var entries []fileEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("eval: embedding cache %s: %w", path, err)
	}
	for i, e := range entries {
		h, err := hex.DecodeString(e.SHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("eval: embedding cache %s: entry %d: sha256 %q is not 64 hex digits", path, i, e.SHA256)
		}
		if len(e.Vector) != e.Dimension {
			return nil, fmt.Errorf("eval: embedding cache %s: entry %d: %d elements, dimension %d", path, i, len(e.Vector), e.Dimension)
		}
		k := vector.CacheKey{Model: e.Model, Dimension: e.Dimension}
		copy(k.Hash[:], h)
		s.vecs[k] = e.Vector
	}
	return s, nil
}

// Path is the store's file.
func (s *FileStore) Path() string { return s.path }

// Len is the number of vectors held.
func (s *FileStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vecs)
}

// Get implements vector.CacheStore.
func (s *FileStore) Get(ctx context.Context, keys []vector.CacheKey) ([][]float32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]float32, len(keys))
	for i, k := range keys {
		if v, ok := s.vecs[k]; ok {
			out[i] = slices.Clone(v)
		}
	}
	return out, ctx.Err()
}

// Put implements vector.CacheStore: it adds the vectors and rewrites the file.
func (s *FileStore) Put(ctx context.Context, keys []vector.CacheKey, vecs [][]float32) error {
	if len(keys) != len(vecs) {
		return fmt.Errorf("eval: embedding cache %s: %d keys, %d vectors", s.path, len(keys), len(vecs))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range keys {
		s.vecs[k] = slices.Clone(vecs[i])
	}
	entries := make([]fileEntry, 0, len(s.vecs))
	for k, v := range s.vecs {
		entries = append(entries, fileEntry{Model: k.Model, Dimension: k.Dimension, SHA256: hex.EncodeToString(k.Hash[:]), Vector: v})
	}
	slices.SortFunc(entries, func(a, b fileEntry) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Dimension, b.Dimension), cmp.Compare(a.SHA256, b.SHA256))
	})
	b, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("eval: embedding cache %s: %w", s.path, err)
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("eval: embedding cache %s: %w", s.path, err)
	}
	return nil
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// over path, so a reader sees the old file or the new one.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// EmbeddingCachePath is where the evaluation keeps the vectors of model
// under the cache folder cacheDir: cacheDir/recommend/movielens-<the first 12
// hex digits of the SHA-256 of model>.json. One file per model name, so that
// a model with a new name (new weights, a new token limit) starts a new file.
func EmbeddingCachePath(cacheDir, model string) string {
	h := sha256.Sum256([]byte(model))
	return filepath.Join(cacheDir, "recommend", "movielens-"+hex.EncodeToString(h[:6])+".json")
}
