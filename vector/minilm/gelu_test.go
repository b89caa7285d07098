package minilm

import (
	"math"
	"testing"
)

// TestGELU checks gelu (on amd64 with AVX2 and FMA, geluAVX eight at a
// time, geluGo for the rest) and geluGo against x·(1+math.Erf(x/√2))/2 from -10 to 10: within
// (1.5e-7 + 2⁻²¹)·|x|/2, the bound of its erf plus a few float32 roundings
// of 1+erf.
func TestGELU(t *testing.T) {
	var x []float32
	for v := -10.0; v <= 10; v += 1.0 / 1024 {
		x = append(x, float32(v))
	}
	x = append(x, 0, 1e-30, -1e-30, 1e-8, -1e-8)
	got := append([]float32(nil), x...)
	gelu(got)
	goGot := append([]float32(nil), x...)
	geluGo(goGot)
	for i, v := range x {
		f := float64(v)
		want := 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
		tol := (1.5e-7 + 0x1p-21) * math.Abs(f) / 2
		if d := math.Abs(float64(got[i]) - want); d > tol {
			t.Errorf("gelu(%g) = %g, want %g (off by %g > %g)", v, got[i], want, d, tol)
		}
		if d := math.Abs(float64(goGot[i]) - want); d > tol {
			t.Errorf("geluGo(%g) = %g, want %g (off by %g > %g)", v, goGot[i], want, d, tol)
		}
	}
}

// TestExp32 checks exp32 against math.Exp from -100 to 0: within 2⁻²²,
// relative, and 0 below -87.3.
func TestExp32(t *testing.T) {
	for v := -100.0; v <= 0; v += 1.0 / 4096 {
		x := float32(v)
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if x < -87.3 {
			want = 0
		}
		if d := math.Abs(got - want); d > 0x1p-22*want {
			t.Fatalf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
}

// TestExps checks exps (on amd64 with AVX2 and FMA, expAVX eight at a time,
// exp32 for the rest) against math.Exp on awkward lengths.
func TestExps(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 31, 256, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = -100 * float32(i) / float32(n)
		}
		got := append([]float32(nil), x...)
		exps(got)
		for i, v := range x {
			want := math.Exp(float64(v))
			if v < -87.3 {
				want = 0
			}
			if d := math.Abs(float64(got[i]) - want); d > 0x1p-22*want {
				t.Fatalf("n %d: exps(%g) = %g, want %g", n, v, got[i], want)
			}
		}
	}
}
