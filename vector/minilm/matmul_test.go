package minilm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLinearRows checks the products against float64 sums on random
// matrices of awkward sizes: rowsGo, the pure Go kernel, and rows, which on
// amd64 with AVX2 and FMA is the assembly one (rowsAVX) and elsewhere
// rowsGo. Summing in another order moves a float32 sum by at most about
// n·2⁻²⁴ of Σ|x·w|, the bound each result is held to; the two kernels are
// also held to it against each other.
func TestLinearRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for _, c := range []struct{ rows, in, out, lo, hi int }{
		{1, 1, 1, 0, 1},
		{1, 384, 3, 0, 1},
		{3, 384, 2, 0, 3},
		{6, 20, 2, 0, 6},
		{5, 1, 1, 0, 5},
		{4, 384, 3, 0, 4},
		{4, 8, 3, 0, 4},
		{5, 7, 5, 0, 5},
		{7, 9, 11, 1, 6},
		{6, 1, 4, 0, 6},
		{9, 17, 7, 2, 9},
		{13, 384, 1152, 0, 13},
		{10, 1536, 384, 3, 10},
		{8, 384, 1536, 0, 8},
		{33, 100, 50, 5, 30},
		{11, 1535, 13, 0, 11},
		{6, 4100, 40, 0, 6}, // more than one block of weight rows
	} {
		l := linear{w: normals(rng, c.out*c.in), b: normals(rng, c.out), in: c.in, out: c.out}
		x := normals(rng, c.rows*c.in)
		goDst := make([]float32, c.rows*c.out)
		dst := make([]float32, c.rows*c.out)
		l.rowsGo(goDst, x, c.lo, c.hi)
		l.rows(dst, x, c.lo, c.hi)
		for i := range c.rows {
			for o := range c.out {
				k := i*c.out + o
				if i < c.lo || i >= c.hi {
					if goDst[k] != 0 || dst[k] != 0 {
						t.Fatalf("%+v: row %d, outside lo..hi, written", c, i)
					}
					continue
				}
				want, mag := float64(l.b[o]), math.Abs(float64(l.b[o]))
				for j := range c.in {
					p := float64(x[i*c.in+j]) * float64(l.w[o*c.in+j])
					want += p
					mag += math.Abs(p)
				}
				tol := float64(c.in+1) * 0x1p-24 * mag
				if d := math.Abs(float64(goDst[k]) - want); d > tol {
					t.Errorf("%+v: rowsGo [%d,%d] = %g, want %g (off by %g > %g)", c, i, o, goDst[k], want, d, tol)
				}
				if d := math.Abs(float64(dst[k]) - want); d > tol {
					t.Errorf("%+v: rows [%d,%d] = %g, want %g (off by %g > %g)", c, i, o, dst[k], want, d, tol)
				}
				if d := math.Abs(float64(dst[k] - goDst[k])); d > 2*tol {
					t.Errorf("%+v: rows and rowsGo [%d,%d]: %g and %g", c, i, o, dst[k], goDst[k])
				}
			}
		}
	}
}

func normals(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestAttend checks attend (on amd64 with AVX2 and FMA, attendAVX: both
// products through dots) against attendGo, the pure Go one, on random
// queries, keys and values for sequences of awkward lengths; the outputs
// are weighted means of the values, so they are held to a bound relative
// to the values' magnitude.
func TestAttend(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 4))
	for _, c := range []struct{ rows, lo, hi int }{
		{1, 0, 1}, {3, 0, 3}, {5, 1, 5}, {33, 0, 33}, {40, 3, 39}, {70, 0, 70},
	} {
		qkv := normals(rng, c.rows*3*hidden)
		want := make([]float32, c.rows*hidden)
		got := make([]float32, c.rows*hidden)
		for hd := range heads {
			attendGo(want, qkv, c.lo, c.hi, hd)
			attend(got, qkv, c.lo, c.hi, hd)
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
				t.Fatalf("%+v: ctx[%d] = %g, attendGo %g", c, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkLinear runs the intermediate layer's product (384 in, 1536 out)
// on 256 rows, one goroutine, with rows (on amd64 with AVX2 and FMA, the
// assembly kernel) and rowsGo, and reports GFLOP/s.
func BenchmarkLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 5))
	const rows = 256
	l := linear{w: normals(rng, intermediate*hidden), b: normals(rng, intermediate), in: hidden, out: intermediate}
	x := normals(rng, rows*hidden)
	dst := make([]float32, rows*intermediate)
	for _, k := range []struct {
		name string
		f    func(dst, x []float32, lo, hi int)
	}{{"rows", l.rows}, {"rowsGo", l.rowsGo}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				k.f(dst, x, 0, rows)
			}
			b.ReportMetric(float64(b.N)*2*rows*hidden*intermediate/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
