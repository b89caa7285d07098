package minilm

import (
	"math"
	"testing"
)

// TestGELU checks gelu against x·(1+math.Erf(x/√2))/2 from -10 to 10: within
// 1.5e-7·|x|/2, the bound of its erf, plus float32 rounding.
func TestGELU(t *testing.T) {
	var x []float32
	for v := -10.0; v <= 10; v += 1.0 / 1024 {
		x = append(x, float32(v))
	}
	x = append(x, 0, 1e-30, -1e-30, 1e-8, -1e-8)
	got := append([]float32(nil), x...)
	gelu(got)
	for i, v := range x {
		f := float64(v)
		want := 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
		tol := 1.5e-7*math.Abs(f)/2 + 0x1p-23*math.Abs(want)
		if d := math.Abs(float64(got[i]) - want); d > tol {
			t.Errorf("gelu(%g) = %g, want %g (off by %g > %g)", v, got[i], want, d, tol)
		}
	}
}
