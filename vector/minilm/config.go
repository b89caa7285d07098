package minilm

import (
	"fmt"
	"runtime"
)

// maxPositions is the model's position table: no input can be longer.
const maxPositions = 512

// Config tunes a Model. The zero value is ready to use: Load fills in the
// defaults below.
type Config struct {
	// MaxTokens caps a text's token count, [CLS] and [SEP] included; the rest
	// of a longer text is ignored, as sentence-transformers does. Default: the
	// folder's max_seq_length (256 for all-MiniLM-L6-v2); at most 512.
	MaxTokens int
	// BatchSize is how many texts go through the network together. Default
	// 32. A batch takes about 15 KB per token: 120 MB for 32 texts of 256.
	BatchSize int
	// Workers is how many goroutines one Embed call computes with. Default
	// runtime.GOMAXPROCS(0).
	Workers int
}

// withDefaults fills the zero fields; maxSeqLength is the folder's.
func (c Config) withDefaults(maxSeqLength int) Config {
	if c.MaxTokens == 0 {
		c.MaxTokens = maxSeqLength
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Validate reports a field out of range. Zero fields are valid: they take
// their defaults. Load calls it.
func (c Config) Validate() error {
	if c.MaxTokens != 0 && (c.MaxTokens < 3 || c.MaxTokens > maxPositions) {
		return fmt.Errorf("minilm: MaxTokens %d: want 0 (default 256) or 3..%d ([CLS], [SEP] and at least one token)", c.MaxTokens, maxPositions)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("minilm: BatchSize %d: want 0 (default 32) or more", c.BatchSize)
	}
	if c.Workers < 0 {
		return fmt.Errorf("minilm: Workers %d: want 0 (default GOMAXPROCS) or more", c.Workers)
	}
	return nil
}
