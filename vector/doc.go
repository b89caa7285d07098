// Package vector holds what the toolkit needs for similarity search: the
// Embedder interface that turns text into vectors, embedders beside it
// (vector/minilm runs all-MiniLM-L6-v2 offline in pure Go; vector/httpembed
// speaks OpenAI's and Ollama's embedding APIs), and search over Cassandra 5's
// SAI vector indexes.
package vector
