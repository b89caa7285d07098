package graphql

import (
	"math/big"
	"reflect"
	"testing"
	"time"

	"gopkg.in/inf.v0"
)

func TestOutputInputRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want any
	}{
		{"varint map value", map[string]big.Int{"a": *big.NewInt(-5)}, []any{map[string]any{"key": "a", "value": "-5"}}},
		{"decimal map value", map[string]inf.Dec{"a": *inf.NewDec(125, 2)}, []any{map[string]any{"key": "a", "value": "1.25"}}},
		{"bigint as string", int64(1 << 60), "1152921504606846976"},
		{"nil pointer", (*int32)(nil), nil},
		{"bytes", []byte{0, 1, 255}, "AAH/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := output(reflect.ValueOf(c.v), "")
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("output = %#v, want %#v", got, c.want)
			}
			back := reflect.New(reflect.TypeOf(c.v)).Elem()
			if err := input(back, got, c.name); err != nil {
				t.Fatal(err)
			}
			if again := output(back, ""); !reflect.DeepEqual(again, c.want) {
				t.Fatalf("round trip = %#v, want %#v", again, c.want)
			}
		})
	}
}

func TestInputRefusesBadValues(t *testing.T) {
	cases := []struct {
		name string
		dst  any
		val  any
	}{
		{"int32 overflow", int32(0), int64(1 << 40)},
		{"fractional int", int64(0), 1.5},
		{"bad time of day", time.Duration(0), "25:00:00"},
		{"bad base64", []byte(nil), "***"},
		{"string for bool", false, "true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := reflect.New(reflect.TypeOf(c.dst)).Elem()
			if err := input(dst, c.val, c.name); err == nil {
				t.Fatalf("accepted %#v into %T", c.val, c.dst)
			}
		})
	}
}
