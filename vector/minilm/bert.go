package minilm

import (
	"fmt"
	"math"
)

// The shape of all-MiniLM-L6-v2; Load checks config.json against it.
const (
	hidden       = Dimension
	heads        = 12
	headDim      = hidden / heads
	intermediate = 1536
	numLayers    = 6
	typeVocab    = 2
	layerNormEps = 1e-12
)

// lnorm is a LayerNorm's scale and shift.
type lnorm struct{ g, b []float32 }

// layer is one transformer block. qkv is the query, key and value
// projections stacked into one 3×hidden-row layer, so one pass computes all
// three.
type layer struct {
	qkv, attnOut, inter, out linear
	attnNorm, outNorm        lnorm
}

// bert is the encoder's weights, read-only once loaded.
type bert struct {
	word, pos, typ []float32
	embNorm        lnorm
	layers         []layer
}

// loadBERT reads the encoder from a safetensors file whose names may or may
// not carry the "bert." prefix.
func loadBERT(st *safetensors, vocabSize int) (*bert, error) {
	prefix := ""
	if _, ok := st.header["embeddings.word_embeddings.weight"]; !ok {
		prefix = "bert."
	}
	var err error
	get := func(name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = st.float32s(prefix+name, shape...)
		return v
	}
	lin := func(name string, out, in int) linear {
		return linear{w: get(name+".weight", out, in), b: get(name+".bias", out), in: in, out: out}
	}
	ln := func(name string) lnorm {
		return lnorm{g: get(name+".weight", hidden), b: get(name+".bias", hidden)}
	}
	m := &bert{
		word:    get("embeddings.word_embeddings.weight", vocabSize, hidden),
		pos:     get("embeddings.position_embeddings.weight", maxPositions, hidden),
		typ:     get("embeddings.token_type_embeddings.weight", typeVocab, hidden),
		embNorm: ln("embeddings.LayerNorm"),
	}
	for i := range numLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		q, k, v := lin(p+"attention.self.query", hidden, hidden), lin(p+"attention.self.key", hidden, hidden), lin(p+"attention.self.value", hidden, hidden)
		m.layers = append(m.layers, layer{
			qkv:      linear{w: concat(q.w, k.w, v.w), b: concat(q.b, k.b, v.b), in: hidden, out: 3 * hidden},
			attnOut:  lin(p+"attention.output.dense", hidden, hidden),
			attnNorm: ln(p + "attention.output.LayerNorm"),
			inter:    lin(p+"intermediate.dense", intermediate, hidden),
			out:      lin(p+"output.dense", hidden, intermediate),
			outNorm:  ln(p + "output.LayerNorm"),
		})
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func concat(parts ...[]float32) []float32 {
	var out []float32
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// forward embeds a packed batch: the token ids of every sequence one after
// the other, no padding. Each sequence attends to its own tokens only, which
// is what an attention mask does to a padded batch, without computing the
// padding; pooling then averages each sequence's own tokens. It returns one
// L2-normalised vector per sequence.
func (m *bert) forward(seqs [][]int, workers int) [][]float32 {
	starts := make([]int, len(seqs)+1)
	for i, s := range seqs {
		starts[i+1] = starts[i] + len(s)
	}
	n := starts[len(seqs)]
	h := make([]float32, n*hidden)
	qkv := make([]float32, n*3*hidden)
	ctx := make([]float32, n*hidden)
	tmp := make([]float32, n*hidden)
	inter := make([]float32, n*intermediate)

	for i, s := range seqs {
		for p, id := range s {
			row := h[(starts[i]+p)*hidden:][:hidden]
			w, ps, ty := m.word[id*hidden:][:hidden], m.pos[p*hidden:][:hidden], m.typ[:hidden]
			for d := range row {
				row[d] = w[d] + ps[d] + ty[d]
			}
		}
	}
	layerNorm(h, n, m.embNorm, workers)

	for li := range m.layers {
		l := &m.layers[li]
		l.qkv.apply(qkv, h, n, workers)
		parallelJobs(len(seqs)*heads, workers, func(job int) {
			s, hd := job/heads, job%heads
			attend(ctx, qkv, starts[s], starts[s+1], hd)
		})
		l.attnOut.apply(tmp, ctx, n, workers)
		addNorm(h, tmp, n, l.attnNorm, workers)
		l.inter.apply(inter, h, n, workers)
		parallelRows(n, workers, func(lo, hi int) { gelu(inter[lo*intermediate : hi*intermediate]) })
		l.out.apply(tmp, inter, n, workers)
		addNorm(h, tmp, n, l.outNorm, workers)
	}

	out := make([][]float32, len(seqs))
	for i := range seqs {
		out[i] = meanPool(h[starts[i]*hidden:starts[i+1]*hidden], starts[i+1]-starts[i])
	}
	return out
}

// attendGo is one head's scaled dot-product attention for the sequence in
// rows lo..hi, written into that head's columns of ctx, in pure Go.
func attendGo(ctx, qkv []float32, lo, hi, hd int) {
	const stride = 3 * hidden
	scale := float32(1 / math.Sqrt(headDim))
	scores := make([]float32, hi-lo)
	for i := lo; i < hi; i++ {
		q := qkv[i*stride+hd*headDim:][:headDim]
		top := float32(math.Inf(-1))
		for j := lo; j < hi; j++ {
			k := qkv[j*stride+hidden+hd*headDim:][:headDim]
			s := dot(q, k) * scale
			scores[j-lo] = s
			top = max(top, s)
		}
		var sum float64
		for j := range scores {
			e := float32(math.Exp(float64(scores[j] - top)))
			scores[j] = e
			sum += float64(e)
		}
		c := ctx[i*hidden+hd*headDim:][:headDim]
		clear(c)
		for j := lo; j < hi; j++ {
			p := scores[j-lo] / float32(sum)
			v := qkv[j*stride+2*hidden+hd*headDim:][:headDim]
			for d := range c {
				c[d] += p * v[d]
			}
		}
	}
}

// addNorm sets h to LayerNorm(h + x), row by row.
func addNorm(h, x []float32, n int, ln lnorm, workers int) {
	parallelRows(n, workers, func(lo, hi int) {
		for i, v := range x[lo*hidden : hi*hidden] {
			h[lo*hidden+i] += v
		}
		normRows(h[lo*hidden:hi*hidden], ln)
	})
}

// layerNorm normalises the n rows of h.
func layerNorm(h []float32, n int, ln lnorm, workers int) {
	parallelRows(n, workers, func(lo, hi int) { normRows(h[lo*hidden:hi*hidden], ln) })
}

// normRows applies LayerNorm to each hidden-wide row of h, with the
// statistics in float64.
func normRows(h []float32, ln lnorm) {
	for r := 0; r < len(h); r += hidden {
		row := h[r : r+hidden]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= hidden
		var variance float64
		for _, v := range row {
			d := float64(v) - mean
			variance += d * d
		}
		inv := 1 / math.Sqrt(variance/hidden+layerNormEps)
		for d, v := range row {
			row[d] = float32((float64(v)-mean)*inv)*ln.g[d] + ln.b[d]
		}
	}
}

// geluGo is GELU, x·Φ(x) = x·(1+erf(x/√2))/2, the exact form that Hugging
// Face's "gelu" is, in float32, with erf from Abramowitz and Stegun's
// 7.1.26: a rational polynomial times exp(-z²), within 1.5e-7 of erf, at
// float32's resolution of 1+erf, and several times faster than math.Erf.
// For x < 0, 1+erf is the polynomial term itself, with no cancellation.
func geluGo(x []float32) {
	const (
		p                  = 0.3275911
		a1, a2, a3, a4, a5 = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429
	)
	var e [256]float32 // exp(-z²), a chunk at a time for exps
	for len(x) > 0 {
		c := x[:min(len(e), len(x))]
		for i, v := range c {
			z := float32(math.Abs(float64(v))) * (1 / math.Sqrt2)
			e[i] = -z * z
		}
		exps(e[:len(c)])
		for i, v := range c {
			z := float32(math.Abs(float64(v))) * (1 / math.Sqrt2)
			t := 1 / (1 + p*z)
			q := ((((a5*t+a4)*t+a3)*t+a2)*t + a1) * t * e[i] // 1 - erf(z)
			if v >= 0 {
				q = 2 - q
			}
			c[i] = 0.5 * v * q
		}
		x = x[len(c):]
	}
}

// meanPool averages the rows of h (n of them) and scales the mean to unit
// length.
func meanPool(h []float32, n int) []float32 {
	sum := make([]float64, hidden)
	for r := 0; r < n; r++ {
		for d, v := range h[r*hidden : (r+1)*hidden] {
			sum[d] += float64(v)
		}
	}
	var sq float64
	for _, s := range sum {
		sq += s * s
	}
	out := make([]float32, hidden)
	if sq == 0 {
		return out
	}
	inv := 1 / math.Sqrt(sq)
	for d, s := range sum {
		out[d] = float32(s * inv)
	}
	return out
}

// exp32 is e^x in float32 for x ≤ 0, as Cephes' expf computes it: x =
// k·ln 2 + r with |r| ≤ ln 2 / 2 (k rounded to nearest by adding and
// subtracting 1.5·2²³), a polynomial for e^r, then 2^k put in the exponent
// bits; within 2⁻²² of math.Exp, relative. Below -87.3, where e^x is under
// float32's smallest normal, it is 0.
func exp32(x float32) float32 {
	if !(x >= -87.3) {
		return 0
	}
	const c1, c2 = 0.693359375, -2.12194440e-4 // ln 2 in two parts
	const round = 0x1.8p23
	k := float32(x*math.Log2E) + round
	k -= round
	r := x - k*c1 - k*c2
	y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y = y*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(k)+127)<<23)
}
