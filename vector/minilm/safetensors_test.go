package minilm

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeSafetensors writes a file of the given header and data.
func writeSafetensors(t *testing.T, header string, data []byte) string {
	t.Helper()
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(append(b, header...), data...)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSafetensors(t *testing.T) {
	var data []byte
	for _, f := range []float32{1, -2.5, 3, 0.125, 7, 8} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
	}
	path := writeSafetensors(t, `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"odd":{"dtype":"F32","shape":[3],"data_offsets":[16,24]}}`, data)
	st, err := openSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.float32s("w", 2, 2)
	if err != nil || !slices.Equal(got, []float32{1, -2.5, 3, 0.125}) {
		t.Fatalf("float32s(w) = %v, %v", got, err)
	}
	for _, tc := range []struct {
		name  string
		shape []int
		err   string
	}{
		{"w", []int{4}, "has shape [2 2], want [4]"},
		{"h", []int{2}, "is F16, want F32"},
		{"odd", []int{3}, "has 8 bytes, want 12"},
		{"missing", []int{1}, "no tensor missing"},
	} {
		if _, err := st.float32s(tc.name, tc.shape...); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("float32s(%s, %v) = %v, want an error with %q", tc.name, tc.shape, err, tc.err)
		}
	}
}

func TestSafetensorsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		data         []byte
		err          string
	}{
		{"not json", `{"w":`, nil, "header"},
		{"past the data", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{1, 2}, "outside the 2 bytes"},
		{"backwards", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4), "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := openSafetensors(writeSafetensors(t, tc.header, tc.data)); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("openSafetensors = %v, want an error with %q", err, tc.err)
			}
		})
	}
	t.Run("header longer than the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.safetensors")
		if err := os.WriteFile(path, binary.LittleEndian.AppendUint64(nil, 1<<40), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := openSafetensors(path); err == nil || !strings.Contains(err.Error(), "header of") {
			t.Fatalf("openSafetensors = %v, want a header length error", err)
		}
	})
}
