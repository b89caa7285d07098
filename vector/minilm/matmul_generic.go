//go:build !amd64 || purego

package minilm

// rows computes output rows lo..hi.
func (l *linear) rows(dst, x []float32, lo, hi int) {
	l.rowsGo(dst, x, lo, hi)
}

// attend is one head's scaled dot-product attention for the sequence in
// rows lo..hi, written into that head's columns of ctx.
func attend(ctx, qkv []float32, lo, hi, hd int) {
	attendGo(ctx, qkv, lo, hi, hd)
}

// exps sets each x[i] ≤ 0 to e^x[i] with exp32.
func exps(x []float32) {
	for i, v := range x {
		x[i] = exp32(v)
	}
}

// gelu is GELU, x·Φ(x).
func gelu(x []float32) {
	geluGo(x)
}
