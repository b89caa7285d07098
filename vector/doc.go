// Package vector holds what the toolkit needs for similarity search: the
// Embedder interface that turns text into vectors, and search over Cassandra
// 5's SAI vector indexes (Search, one ANN read with scores, a client-side
// threshold and over-fetching) beside an exact brute-force search in Go
// (Exact) that serves as ground truth and as the fallback for small sets.
//
// See docs/vectors.md for the limits of Cassandra 5.0.8 that Search honours.
package vector
