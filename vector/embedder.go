package vector

import "context"

// Embedder turns texts into vectors of a fixed dimension.
//
// Embed returns one vector per text, in order, each of Dimension elements; it is
// safe for concurrent use. An error names the model and, where it concerns one
// text, its index; no partial result is returned with an error.
type Embedder interface {
	// Embed embeds texts. An empty slice gives an empty result without work.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Dimension is the length of every vector Embed returns.
	Dimension() int
	// Model names the model, as a cache key or an error would: the same name
	// and text always give the same vector.
	Model() string
}
