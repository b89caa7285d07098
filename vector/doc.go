// Package vector holds what the toolkit needs for similarity search: the
// Embedder interface that turns text into vectors, with embedders over HTTP
// (OpenAI's /v1/embeddings and compatible servers, Ollama's /api/embed) and a
// cache of embeddings keyed by model and content hash (Cached, over memory,
// Cassandra or both), and search over Cassandra 5's SAI vector indexes (Search,
// one ANN read with scores, a client-side threshold and over-fetching) beside an
// exact brute-force search in Go (Exact) that serves as ground truth and as the
// fallback for small sets.
//
// See docs/vectors.md for the limits of Cassandra 5.0.8 that Search honours, and
// for the wire formats, retries and cache keys of the embedders.
package vector
