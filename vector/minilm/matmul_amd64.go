//go:build amd64 && !purego

package minilm

import (
	"math"

	"golang.org/x/sys/cpu"
)

// avx2FMA says whether the CPU runs the assembly of matmul_amd64.s
// (dot4x3, expAVX, geluAVX); without AVX2 and FMA the products, the
// exponentials and GELU fall back to the pure Go ones.
var avx2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot4x3 sets d[3r+c] to the dot product of the first n floats of x row r
// and w row c, for r < 4 and c < 3, with rows xs and ws floats apart; n is
// a multiple of 8. It is Go assembly (matmul_amd64.s): AVX2 and FMA.
//
//go:noescape
func dot4x3(x *float32, xs int, w *float32, ws int, n int, d *[12]float32)

// expAVX sets x[i] to exp32(x[i]) for i < n, computed eight at a time; n
// is a positive multiple of 8. It is Go assembly (matmul_amd64.s): AVX2
// and FMA.
//
//go:noescape
func expAVX(x *float32, n int)

// exps sets each x[i] ≤ 0 to e^x[i], as exp32 does.
func exps(x []float32) {
	n8 := len(x) &^ 7
	if avx2FMA && n8 > 0 {
		expAVX(&x[0], n8)
	} else {
		n8 = 0
	}
	for i, v := range x[n8:] {
		x[n8+i] = exp32(v)
	}
}

// geluAVX sets x[i] to gelu(x[i]) for i < n, computed eight at a time; n
// is a positive multiple of 8. It is Go assembly (matmul_amd64.s): AVX2
// and FMA.
//
//go:noescape
func geluAVX(x *float32, n int)

// gelu is GELU, x·Φ(x): geluGo's arithmetic, eight at a time with AVX2 and
// FMA.
func gelu(x []float32) {
	n8 := len(x) &^ 7
	if avx2FMA && n8 > 0 {
		geluAVX(&x[0], n8)
	} else {
		n8 = 0
	}
	geluGo(x[n8:])
}

// rows computes output rows lo..hi.
func (l *linear) rows(dst, x []float32, lo, hi int) {
	if !avx2FMA {
		l.rowsGo(dst, x, lo, hi)
		return
	}
	l.rowsAVX(dst, x, lo, hi)
}

// attend is one head's scaled dot-product attention for the sequence in
// rows lo..hi, written into that head's columns of ctx.
func attend(ctx, qkv []float32, lo, hi, hd int) {
	if !avx2FMA {
		attendGo(ctx, qkv, lo, hi, hd)
		return
	}
	attendAVX(ctx, qkv, lo, hi, hd)
}

// attendChunk is how many queries attendAVX scores at a time.
const attendChunk = 32

// attendAVX is attend with both products as dots: the scores are queries
// times keys, and the output is the softmaxed scores times the values, for
// which the head's values are transposed so that each output is again a dot
// product of two contiguous rows.
func attendAVX(ctx, qkv []float32, lo, hi, hd int) {
	const stride = 3 * hidden
	scale := float32(1 / math.Sqrt(headDim))
	m := hi - lo
	base := lo*stride + hd*headDim
	vt := make([]float32, headDim*m)
	for j := range m {
		for d, v := range qkv[base+j*stride+2*hidden:][:headDim] {
			vt[d*m+j] = v
		}
	}
	scores := make([]float32, min(attendChunk, m)*m)
	for i0 := 0; i0 < m; i0 += attendChunk {
		rows := min(attendChunk, m-i0)
		dots(scores, m, qkv[base+i0*stride:], stride, qkv[base+hidden:], stride, rows, m, headDim)
		for r := range rows {
			row := scores[r*m : (r+1)*m]
			top := float32(math.Inf(-1))
			for j, s := range row {
				s *= scale
				row[j] = s
				if s > top {
					top = s
				}
			}
			for j := range row {
				row[j] -= top
			}
			exps(row)
			var sum float64
			for _, e := range row {
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for j := range row {
				row[j] *= inv
			}
		}
		dots(ctx[(lo+i0)*hidden+hd*headDim:], hidden, scores, m, vt, m, rows, headDim, m)
	}
}

// rowsAVX computes output rows lo..hi with dot4x3, a block of weight rows
// at a time, each block reused by every input row.
func (l *linear) rowsAVX(dst, x []float32, lo, hi int) {
	in, out := l.in, l.out
	block := max(3, blockBytes/(4*in)/3*3)
	for o0 := 0; o0 < out; o0 += block {
		o1 := min(o0+block, out)
		dots(dst[lo*out+o0:], out, x[lo*in:], in, l.w[o0*in:], in, hi-lo, o1-o0, in)
	}
	l.addBias(dst, lo, hi)
}

// dots sets dst[i*ds+j] to the dot product of the first n floats of x row i
// and w row j, for i < rows and j < cols, with rows xs and ws floats apart.
// Blocks of 4×3 go to dot4x3, the last block of each way moved back to
// overlap the one before rather than leaving a ragged edge (the overlapping
// products come out the same both times); fewer than 4 rows or 3 columns
// are copied into a block padded with zeros, so that a text of one to three
// tokens runs on the kernel too; only the n%8 tail floats are left to Go.
func dots(dst []float32, ds int, x []float32, xs int, w []float32, ws int, rows, cols, n int) {
	if rows == 0 || cols == 0 {
		return
	}
	if rows < 4 {
		xp := make([]float32, 4*n)
		for i := range rows {
			copy(xp[i*n:(i+1)*n], x[i*xs:][:n])
		}
		out := make([]float32, 4*cols)
		dots(out, cols, xp, n, w, ws, 4, cols, n)
		for i := range rows {
			copy(dst[i*ds:][:cols], out[i*cols:][:cols])
		}
		return
	}
	if cols < 3 {
		wp := make([]float32, 3*n)
		for j := range cols {
			copy(wp[j*n:(j+1)*n], w[j*ws:][:n])
		}
		out := make([]float32, rows*3)
		dots(out, 3, x, xs, wp, n, rows, 3, n)
		for i := range rows {
			copy(dst[i*ds:][:cols], out[i*3:][:cols])
		}
		return
	}
	n8 := n &^ 7
	var s [12]float32
	for i := 0; i < rows; i += 4 {
		i = min(i, rows-4)
		xb := x[i*xs:][:3*xs+n]
		for j := 0; j < cols; j += 3 {
			j = min(j, cols-3)
			wb := w[j*ws:][:2*ws+n]
			if n8 > 0 {
				dot4x3(&xb[0], xs, &wb[0], ws, n8, &s)
			} else {
				s = [12]float32{}
			}
			for r := range 4 {
				for c := range 3 {
					if n8 < n {
						s[3*r+c] += dot(xb[r*xs+n8:r*xs+n], wb[c*ws+n8:c*ws+n])
					}
					dst[(i+r)*ds+j+c] = s[3*r+c]
				}
			}
		}
	}
}
