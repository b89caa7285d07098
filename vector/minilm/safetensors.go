package minilm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// maxHeader bounds the JSON header a safetensors file may declare, so that a
// damaged length cannot make Load allocate gigabytes.
const maxHeader = 100 << 20

// tensorInfo is one entry of a safetensors header.
type tensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// safetensors is a file in the safetensors format: an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte
// range, then the data. Only what the model needs is read.
type safetensors struct {
	path   string
	header map[string]tensorInfo
	data   []byte
	sha256 [32]byte // of the whole file
}

// openSafetensors reads the file at path and checks its header against the
// file's size.
func openSafetensors(path string) (*safetensors, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, fmt.Errorf("safetensors %s: %d bytes, shorter than the header length", path, len(raw))
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if n > maxHeader || n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("safetensors %s: header of %d bytes in a file of %d", path, n, len(raw))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &fields); err != nil {
		return nil, fmt.Errorf("safetensors %s: header: %w", path, err)
	}
	st := &safetensors{path: path, header: make(map[string]tensorInfo, len(fields)), data: raw[8+n:], sha256: sha256.Sum256(raw)}
	for name, f := range fields {
		if name == "__metadata__" {
			continue
		}
		var t tensorInfo
		if err := json.Unmarshal(f, &t); err != nil {
			return nil, fmt.Errorf("safetensors %s: tensor %s: %w", path, name, err)
		}
		if t.DataOffsets[0] < 0 || t.DataOffsets[1] < t.DataOffsets[0] || t.DataOffsets[1] > int64(len(st.data)) {
			return nil, fmt.Errorf("safetensors %s: tensor %s: bytes %d..%d outside the %d bytes of data", path, name, t.DataOffsets[0], t.DataOffsets[1], len(st.data))
		}
		st.header[name] = t
	}
	return st, nil
}

// float32s returns the tensor name, which must be F32 of the given shape.
func (st *safetensors) float32s(name string, shape ...int) ([]float32, error) {
	t, ok := st.header[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %s", st.path, name)
	}
	if t.DType != "F32" {
		return nil, fmt.Errorf("safetensors %s: tensor %s is %s, want F32", st.path, name, t.DType)
	}
	if !sameShape(t.Shape, shape) {
		return nil, fmt.Errorf("safetensors %s: tensor %s has shape %v, want %v", st.path, name, t.Shape, shape)
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	b := st.data[t.DataOffsets[0]:t.DataOffsets[1]]
	if len(b) != 4*n {
		return nil, fmt.Errorf("safetensors %s: tensor %s has %d bytes, want %d for shape %v", st.path, name, len(b), 4*n, shape)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
