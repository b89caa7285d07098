//go:build !amd64 || purego

package minilm

// rows computes output rows lo..hi.
func (l *linear) rows(dst, x []float32, lo, hi int) {
	l.rowsGo(dst, x, lo, hi)
}
