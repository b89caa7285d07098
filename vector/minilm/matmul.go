package minilm

import (
	"sync"
	"sync/atomic"
)

// linear is a dense layer in PyTorch's layout: w holds out rows of in
// weights, so each output is a dot product of two contiguous rows.
type linear struct {
	w, b    []float32
	in, out int
}

// blockBytes is how much of w one pass over the input rows keeps hot: a
// block of weight rows is reused by every input row before the next block.
const blockBytes = 128 << 10

// apply sets dst (rows×out) to x (rows×in) times w transposed, plus b, with
// up to workers goroutines, each on its own range of rows.
func (l *linear) apply(dst, x []float32, rows, workers int) {
	parallelRows(rows, workers, func(lo, hi int) {
		l.rows(dst, x, lo, hi)
	})
}

// rowsGo computes output rows lo..hi in pure Go, with dot2x4.
func (l *linear) rowsGo(dst, x []float32, lo, hi int) {
	in, out := l.in, l.out
	block := max(4, blockBytes/(4*in)&^3)
	for o0 := 0; o0 < out; o0 += block {
		o1 := min(o0+block, out)
		i := lo
		for ; i+2 <= hi; i += 2 {
			x0, x1 := x[i*in:(i+1)*in], x[(i+1)*in:(i+2)*in]
			d0, d1 := dst[i*out:(i+1)*out], dst[(i+1)*out:(i+2)*out]
			o := o0
			for ; o+4 <= o1; o += 4 {
				dot2x4(x0, x1, l.w[o*in:(o+4)*in], in, d0[o:o+4], d1[o:o+4])
			}
			for ; o < o1; o++ {
				w := l.w[o*in : (o+1)*in]
				d0[o], d1[o] = dot(x0, w), dot(x1, w)
			}
		}
		for ; i < hi; i++ {
			x0, d0 := x[i*in:(i+1)*in], dst[i*out:(i+1)*out]
			for o := o0; o < o1; o++ {
				d0[o] = dot(x0, l.w[o*in:(o+1)*in])
			}
		}
	}
	l.addBias(dst, lo, hi)
}

// addBias adds b to output rows lo..hi.
func (l *linear) addBias(dst []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		d := dst[i*l.out : (i+1)*l.out]
		for o, b := range l.b {
			d[o] += b
		}
	}
}

// dot2x4 is the kernel: two input rows against four weight rows, eight sums
// kept in registers while the rows stream through once.
func dot2x4(x0, x1, w []float32, in int, d0, d1 []float32) {
	w0, w1, w2, w3 := w[:in], w[in:2*in], w[2*in:3*in], w[3*in:4*in]
	x1 = x1[:len(x0)]
	w0, w1, w2, w3 = w0[:len(x0)], w1[:len(x0)], w2[:len(x0)], w3[:len(x0)]
	var s00, s01, s02, s03, s10, s11, s12, s13 float32
	for k, a := range x0 {
		b := x1[k]
		v0, v1, v2, v3 := w0[k], w1[k], w2[k], w3[k]
		s00 += a * v0
		s01 += a * v1
		s02 += a * v2
		s03 += a * v3
		s10 += b * v0
		s11 += b * v1
		s12 += b * v2
		s13 += b * v3
	}
	d0[0], d0[1], d0[2], d0[3] = s00, s01, s02, s03
	d1[0], d1[1], d1[2], d1[3] = s10, s11, s12, s13
}

// dot is the plain dot product of two rows of equal length, with four sums.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 && len(b) >= 4 {
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
		a, b = a[4:], b[4:]
	}
	for k, v := range a {
		s0 += v * b[k]
	}
	return s0 + s1 + s2 + s3
}

// parallelRows splits rows 0..n into up to workers even ranges and runs f on
// each in its own goroutine; one range runs on the caller's.
func parallelRows(n, workers int, f func(lo, hi int)) {
	workers = min(workers, (n+1)/2)
	if workers <= 1 {
		f(0, n)
		return
	}
	step := (n + workers - 1) / workers
	step += step & 1 // keep the pairs of dot2x4 together
	var wg sync.WaitGroup
	for lo := step; lo < n; lo += step {
		wg.Go(func() { f(lo, min(lo+step, n)) })
	}
	f(0, min(step, n))
	wg.Wait()
}

// parallelJobs runs f(0) .. f(n-1) on up to workers goroutines, each taking
// the next job when done with one.
func parallelJobs(n, workers int, f func(job int)) {
	workers = min(workers, n)
	var next atomic.Int64
	run := func() {
		for j := int(next.Add(1) - 1); j < n; j = int(next.Add(1) - 1) {
			f(j)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
}
