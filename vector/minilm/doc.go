// Package minilm is a local, offline sentence embedder: all-MiniLM-L6-v2
// (384 dimensions) computed in Go, no cgo and no network, from the model's
// sentence-transformers folder (model.safetensors, vocab.txt,
// tokenizer.json and its JSON configs). On amd64 CPUs with AVX2 and FMA
// (checked at run time with golang.org/x/sys/cpu) the matrix products,
// including attention's, the softmax's exponentials and GELU run in Go
// assembly (matmul_amd64.s, eight float32 lanes with fused multiply-adds);
// on other CPUs and architectures, and with the purego build tag, the same
// steps run in pure Go.
//
// It reproduces what sentence-transformers computes for this model: the
// uncased BERT tokenizer as Hugging Face's tokenizers runs it from
// tokenizer.json (control characters dropped, CJK ideographs spaced, accents
// stripped, lower case, WordPiece), at most 256 tokens by default; the
// 6-layer BERT encoder in float32 (GELU's erf within 1.5e-7, Abramowitz and
// Stegun 7.1.26); the mean of its outputs over the text's own tokens
// (tokenizer.json pads to 128, and averaging over padding would silently
// ruin the vectors, so nothing is padded: a batch is packed and each text
// attends to its own tokens only); L2 normalisation. The tests check the
// token ids against Hugging Face's tokenizers and the vectors against ONNX
// Runtime on the model's ONNX export (see docs/vectors.md).
//
//	m, err := minilm.Load(dir, minilm.Config{})
//	...
//	vecs, err := m.Embed(ctx, []string{"A man is eating food."})
//
// A *Model is a vector.Embedder and is safe for concurrent use.
package minilm
