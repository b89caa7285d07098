package filter

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"net"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

// Column types. A column's type comes from its CQL text (orm.Column.Type). Every
// value, from a filter or from a row, is turned into one canonical Go value per
// class of scalar type, and compared in that form:
//
//	class        CQL types                        canonical value
//	cInt         tinyint smallint int bigint counter  int64
//	cVarint      varint                           *big.Int
//	cFloat       float double                     float64 (a float's value rounded to float32)
//	cDecimal     decimal                          *inf.Dec
//	cText        text varchar ascii               string
//	cBool        boolean                          bool
//	cTimestamp   timestamp                        int64 milliseconds since the epoch
//	cDate        date                             int64 days since the epoch
//	cTime        time                             int64 nanoseconds since midnight
//	cUUID        uuid                             orm.UUID
//	cTimeUUID    timeuuid                         orm.UUID
//	cDuration    duration                         orm.Duration
//	cInet        inet                             []byte, 4 bytes for IPv4, 16 for IPv6
//	cBlob        blob                             []byte
type class uint8

const (
	cInt class = iota + 1
	cVarint
	cFloat
	cDecimal
	cText
	cBool
	cTimestamp
	cDate
	cTime
	cUUID
	cTimeUUID
	cDuration
	cInet
	cBlob
)

// scalar is a CQL type without parts.
type scalar struct {
	class class
	bits  int  // cInt: 8, 16, 32, 64; cFloat: 32, 64
	ascii bool // cText: ascii
}

var scalars = map[string]scalar{
	"tinyint": {class: cInt, bits: 8}, "smallint": {class: cInt, bits: 16},
	"int": {class: cInt, bits: 32}, "bigint": {class: cInt, bits: 64}, "counter": {class: cInt, bits: 64},
	"varint": {class: cVarint}, "float": {class: cFloat, bits: 32}, "double": {class: cFloat, bits: 64},
	"decimal": {class: cDecimal}, "text": {class: cText}, "varchar": {class: cText},
	"ascii": {class: cText, ascii: true}, "boolean": {class: cBool}, "timestamp": {class: cTimestamp},
	"date": {class: cDate}, "time": {class: cTime}, "uuid": {class: cUUID}, "timeuuid": {class: cTimeUUID},
	"duration": {class: cDuration}, "inet": {class: cInet}, "blob": {class: cBlob},
}

// ordered reports whether the type's values have an order that $lt and the other
// ranges use: numbers, text (by UTF-8 bytes, as Cassandra sorts it), timestamps,
// dates, times of day and timeuuids (by their time). Booleans, uuids (whose
// Cassandra order mixes versions), durations (a month has no fixed length), inets
// and blobs have none here.
func (s scalar) ordered() bool {
	switch s.class {
	case cBool, cUUID, cDuration, cInet, cBlob:
		return false
	}
	return true
}

// shape is the form of a column type.
type shape uint8

const (
	shScalar shape = iota + 1
	shList
	shSet
	shMap
	shOpaque // tuple, user-defined type, vector: only $exists applies
)

// colType is a column's type as the filter sees it.
type colType struct {
	shape  shape
	scalar scalar  // shScalar
	key    *scalar // shMap: the key type, nil when not a scalar
	elem   *scalar // shList, shSet: the element type; shMap: the value type; nil when not a scalar
	frozen bool
}

// parseType reads CQL type text as orm.Column.Type writes it, such as "int",
// "set<text>", "map<text, frozen<list<int>>>", `frozen<"address">`.
func parseType(text string) colType {
	t := strings.TrimSpace(text)
	frozen := false
	if inner, ok := generic(t, "frozen"); ok {
		t, frozen = strings.TrimSpace(inner), true
	}
	if inner, ok := generic(t, "list"); ok {
		return colType{shape: shList, elem: scalarOf(inner), frozen: frozen}
	}
	if inner, ok := generic(t, "set"); ok {
		return colType{shape: shSet, elem: scalarOf(inner), frozen: frozen}
	}
	if inner, ok := generic(t, "map"); ok {
		k, v := splitPair(inner)
		return colType{shape: shMap, key: scalarOf(k), elem: scalarOf(v), frozen: frozen}
	}
	if s := scalarOf(t); s != nil {
		return colType{shape: shScalar, scalar: *s}
	}
	return colType{shape: shOpaque, frozen: frozen}
}

// generic returns the parameters of name<...> in t.
func generic(t, name string) (string, bool) {
	if len(t) > len(name)+1 && strings.EqualFold(t[:len(name)], name) &&
		strings.HasPrefix(strings.TrimSpace(t[len(name):]), "<") && strings.HasSuffix(t, ">") {
		inner := strings.TrimSpace(t[len(name):])
		return inner[1 : len(inner)-1], true
	}
	return "", false
}

// splitPair splits "K, V" at its comma outside angle brackets.
func splitPair(s string) (string, string) {
	depth := 0
	for i, c := range s {
		switch c {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func scalarOf(t string) *scalar {
	s, ok := scalars[strings.ToLower(strings.TrimSpace(t))]
	if !ok {
		return nil
	}
	return &s
}

var (
	typeTime     = reflect.TypeFor[time.Time]()
	typeDuration = reflect.TypeFor[time.Duration]()
	typeCQLDur   = reflect.TypeFor[orm.Duration]()
	typeUUID     = reflect.TypeFor[orm.UUID]()
	typeIP       = reflect.TypeFor[net.IP]()
	typeBigInt   = reflect.TypeFor[big.Int]()
	typeDec      = reflect.TypeFor[inf.Dec]()
)

// want names the Go values a type takes.
func (s scalar) want() string {
	return [...]string{
		cInt: "an integer", cVarint: "an integer or a *big.Int", cFloat: "a float32, a float64 or an integer",
		cDecimal: "an *inf.Dec or an integer", cText: "a string", cBool: "a bool",
		cTimestamp: "a time.Time", cDate: "a time.Time", cTime: "a time.Duration",
		cUUID: "an orm.UUID", cTimeUUID: "an orm.UUID", cDuration: "an orm.Duration",
		cInet: "a net.IP", cBlob: "a []byte",
	}[s.class]
}

// maxIndirections bounds the pointers deref follows, so that a pointer to itself
// is a value of a wrong type instead of an endless loop.
const maxIndirections = 16

// deref follows pointers and interfaces to the value they hold; it returns an
// invalid Value for nil.
func deref(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	for i := 0; i < maxIndirections && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface); i++ {
		if rv.IsNil() {
			return reflect.Value{}
		}
		rv = rv.Elem()
	}
	return rv
}

// fromGo turns Go value v into the canonical value of type s. null reports a
// value that stands for CQL null: nil (or a nil pointer, slice or map), and, where
// zeroIsNull (outside the primary key and collections), the zero time.Time and
// the zero orm.UUID, which the ORM leaves unset when writing and reads a null as.
func (s scalar) fromGo(v any, zeroIsNull bool) (val any, null bool, err error) {
	rv := deref(v)
	if !rv.IsValid() {
		return nil, true, nil
	}
	wrong := func() (any, bool, error) {
		return nil, false, fmt.Errorf("a %s value: want %s", rv.Type(), s.want())
	}
	switch s.class {
	case cInt:
		n, ok, err := intOf(rv)
		switch {
		case err != nil:
			return nil, false, err
		case !ok:
			return wrong()
		}
		if lim := int64(1) << (s.bits - 1); s.bits < 64 && (n < -lim || n >= lim) {
			return nil, false, fmt.Errorf("%d is out of range for a %d-bit integer", n, s.bits)
		}
		return n, false, nil
	case cVarint:
		if rv.Type() == typeBigInt {
			return bigOf(rv), false, nil
		}
		if n, ok, err := intOf(rv); ok && err == nil {
			return big.NewInt(n), false, nil
		}
		if isUint(rv) {
			return new(big.Int).SetUint64(rv.Uint()), false, nil
		}
	case cFloat:
		return s.floatOf(rv, wrong)
	case cDecimal:
		if rv.Type() == typeDec {
			return decOf(rv), false, nil
		}
		if n, ok, err := intOf(rv); ok && err == nil {
			return inf.NewDec(n, 0), false, nil
		}
		if isUint(rv) {
			return inf.NewDecBig(new(big.Int).SetUint64(rv.Uint()), 0), false, nil
		}
	case cText:
		if rv.Kind() == reflect.String {
			return rv.String(), false, nil
		}
	case cBool:
		if rv.Kind() == reflect.Bool {
			return rv.Bool(), false, nil
		}
	case cTimestamp, cDate:
		if rv.Type() != typeTime {
			return wrong()
		}
		t := rv.Interface().(time.Time)
		if zeroIsNull && t.IsZero() {
			return nil, true, nil
		}
		if s.class == cDate {
			// The calendar day in the value's own zone, as the ORM writes a date.
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / (24 * 60 * 60), false, nil
		}
		return t.UnixMilli(), false, nil
	case cTime:
		if rv.Type() == typeDuration {
			return rv.Int(), false, nil
		}
	case cUUID, cTimeUUID:
		if rv.Type() == typeUUID {
			u := rv.Interface().(orm.UUID)
			return u, zeroIsNull && u.IsZero(), nil
		}
	case cDuration:
		if rv.Type() == typeCQLDur {
			return rv.Interface().(orm.Duration), false, nil
		}
	case cInet:
		if rv.Type() == typeIP {
			ip := net.IP(rv.Bytes())
			if len(ip) == 0 {
				return nil, true, nil
			}
			// The driver stores an IPv4-mapped IPv6 address as the IPv4 address.
			if ip4 := ip.To4(); ip4 != nil {
				return []byte(ip4), false, nil
			}
			if len(ip) == net.IPv6len {
				return []byte(ip), false, nil
			}
			return nil, false, fmt.Errorf("a net.IP of %d bytes is no address", len(ip))
		}
	case cBlob:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.IsNil() {
				return nil, true, nil
			}
			return rv.Bytes(), false, nil
		}
	}
	return wrong()
}

// intOf reads a signed or unsigned integer; ok is false for other kinds.
func intOf(rv reflect.Value) (int64, bool, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u), true, nil
		}
		return 0, true, fmt.Errorf("%d is out of range for a 64-bit integer", rv.Uint())
	}
	return 0, false, nil
}

func isUint(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func bigOf(rv reflect.Value) *big.Int {
	if rv.CanAddr() {
		return rv.Addr().Interface().(*big.Int)
	}
	b := rv.Interface().(big.Int)
	return &b
}

func decOf(rv reflect.Value) *inf.Dec {
	if rv.CanAddr() {
		return rv.Addr().Interface().(*inf.Dec)
	}
	d := rv.Interface().(inf.Dec)
	return &d
}

// floatOf reads a float, or an integer that the column's float holds exactly.
func (s scalar) floatOf(rv reflect.Value, wrong func() (any, bool, error)) (any, bool, error) {
	exact := int64(1) << 53
	if s.bits == 32 {
		exact = 1 << 24
	}
	var f float64
	switch n, ok, err := intOf(rv); {
	case rv.Kind() == reflect.Float32 || rv.Kind() == reflect.Float64:
		f = rv.Float()
	case !ok:
		return wrong()
	case err != nil || n > exact || n < -exact:
		return nil, false, fmt.Errorf("integer %v is not exactly a %d-bit float", rv.Interface(), s.bits)
	default:
		f = float64(n)
	}
	if s.bits == 32 {
		if math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
			return nil, false, fmt.Errorf("%g is out of range for a float", f)
		}
		f = float64(float32(f))
	}
	return f, false, nil
}

// jsonKind is the kind of a scalar JSON value.
type jsonKind uint8

const (
	jsString jsonKind = iota + 1
	jsNumber
	jsBool
	jsNull
)

// jsonValue is a value of a filter's JSON form, kept as it was read until Bind
// knows its column's type: a string's text, a number's literal, a boolean.
type jsonValue struct {
	kind jsonKind
	text string
	b    bool
}

func (j jsonValue) describe() string {
	switch j.kind {
	case jsString:
		return fmt.Sprintf("the string %q", j.text)
	case jsNumber:
		return "the number " + j.text
	case jsBool:
		return fmt.Sprintf("%t", j.b)
	}
	return "null"
}

// fromJSON turns a JSON value into a Go value of the type the ORM gives s, for
// fromGo to finish: numbers for numbers (and, for bigint, counter, varint and
// decimal, whose values a JavaScript number cannot always hold, a string holding
// one), strings in the types' text forms for the rest.
func (s scalar) fromJSON(j jsonValue) (any, error) {
	str := j.kind == jsString
	num := j.kind == jsNumber || str && (s.class == cVarint || s.class == cDecimal || s.class == cInt && s.bits == 64)
	wrong := func(want string) (any, error) {
		return nil, fmt.Errorf("%s: want %s", j.describe(), want)
	}
	switch s.class {
	case cInt, cVarint:
		if !num {
			return wrong("a whole number")
		}
		n, err := parseInteger(j.text)
		if err != nil {
			return nil, err
		}
		if s.class == cVarint {
			return n, nil
		}
		if !n.IsInt64() {
			return nil, fmt.Errorf("%s is out of range for a %d-bit integer", j.text, s.bits)
		}
		return n.Int64(), nil
	case cFloat:
		if j.kind != jsNumber {
			return wrong("a number")
		}
		f, err := parseFloat(j.text, s.bits)
		if err != nil {
			return nil, err
		}
		return f, nil
	case cDecimal:
		if !num {
			return wrong("a number")
		}
		u, scale, err := parseNumber(j.text)
		if err != nil {
			return nil, err
		}
		return inf.NewDecBig(u, inf.Scale(scale)), nil
	case cBool:
		if j.kind != jsBool {
			return wrong("true or false")
		}
		return j.b, nil
	}
	if !str {
		return wrong([...]string{
			cText: "a string", cTimestamp: "an RFC 3339 time string", cDate: `a "YYYY-MM-DD" string`,
			cTime: `a "HH:MM:SS" string`, cUUID: "a UUID string", cTimeUUID: "a UUID string",
			cDuration: `a CQL duration string such as "1h30m"`, cInet: "an IP address string",
			cBlob: "a base64 string",
		}[s.class])
	}
	return s.fromText(j.text)
}

// fromText reads the text form of a value of a type that JSON writes as a string.
func (s scalar) fromText(t string) (any, error) {
	switch s.class {
	case cTimestamp:
		v, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time", t)
		}
		return v, nil
	case cDate:
		if v, err := time.Parse(time.DateOnly, t); err == nil {
			return v, nil
		}
		if v, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return v, nil
		}
		return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD, or an RFC 3339 time whose day it is)", t)
	case cTime:
		return parseTimeOfDay(t)
	case cUUID, cTimeUUID:
		u, err := orm.ParseUUID(t)
		if err != nil {
			return nil, fmt.Errorf("%q is not a UUID", t)
		}
		return u, nil
	case cDuration:
		return parseDuration(t)
	case cInet:
		ip := net.ParseIP(t)
		if ip == nil {
			return nil, fmt.Errorf("%q is not an IP address", t)
		}
		return ip, nil
	case cBlob:
		b, err := base64.StdEncoding.Strict().DecodeString(t)
		if err != nil {
			return nil, fmt.Errorf("%q is not standard base64", t)
		}
		return b, nil
	}
	return t, nil
}

// check refuses a canonical filter value that no row of the type holds, where the
// ORM would refuse to write it: NaN and infinities (which JSON cannot write
// either), text outside ASCII for ascii, days outside a CQL date, times outside a
// day, UUIDs other than version 1 for timeuuid, durations of mixed signs.
func (s scalar) check(v any) error {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%g is not a finite number", x)
		}
	case string:
		if s.ascii {
			for i := range len(x) {
				if x[i] >= utf8.RuneSelf {
					return fmt.Errorf("%q is not ASCII", x)
				}
			}
		}
	case int64:
		switch {
		case s.class == cDate && (x < math.MinInt32 || x > math.MaxInt32):
			return fmt.Errorf("day %d is outside the range of a CQL date", x)
		case s.class == cTime && (x < 0 || x >= int64(24*time.Hour)):
			return fmt.Errorf("%s is not a time of day (from 0 up to 24h)", time.Duration(x))
		}
	case orm.UUID:
		if s.class == cTimeUUID && x.Version() != 1 {
			return fmt.Errorf("%s is a version %d UUID, not a timeuuid (version 1)", x, x.Version())
		}
	case orm.Duration:
		if _, err := formatDuration(x); err != nil {
			return err
		}
	}
	return nil
}

// own copies a canonical value that shares memory with the caller's.
func own(v any) any {
	switch x := v.(type) {
	case *big.Int:
		return new(big.Int).Set(x)
	case *inf.Dec:
		return new(inf.Dec).Set(x)
	case []byte:
		return bytes.Clone(x)
	}
	return v
}

// equal reports whether canonical values a and b are equal.
func equal(a, b any) bool {
	switch x := a.(type) {
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case *inf.Dec:
		y, ok := b.(*inf.Dec)
		return ok && x.Cmp(y) == 0
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return a == b
}

// compare orders canonical values of one ordered type; ok is false when they
// have no order (NaN, or values of different types).
func compare(a, b any) (c int, ok bool) {
	switch x := a.(type) {
	case int64:
		y, ok := b.(int64)
		return cmp.Compare(x, y), ok
	case float64:
		y, ok := b.(float64)
		return cmp.Compare(x, y), ok && !math.IsNaN(x) && !math.IsNaN(y)
	case string:
		y, ok := b.(string)
		return strings.Compare(x, y), ok
	case *big.Int:
		if y, ok := b.(*big.Int); ok {
			return x.Cmp(y), true
		}
	case *inf.Dec:
		if y, ok := b.(*inf.Dec); ok {
			return x.Cmp(y), true
		}
	case orm.UUID:
		if y, ok := b.(orm.UUID); ok {
			return compareTimeUUID(x, y), true
		}
	}
	return 0, false
}

// compareTimeUUID orders timeuuids as Cassandra does: by their 60-bit time, then
// by their last eight bytes compared as signed bytes.
func compareTimeUUID(a, b orm.UUID) int {
	ts := func(u orm.UUID) uint64 {
		return uint64(u[6]&0x0f)<<56 | uint64(u[7])<<48 | uint64(u[4])<<40 | uint64(u[5])<<32 |
			uint64(u[0])<<24 | uint64(u[1])<<16 | uint64(u[2])<<8 | uint64(u[3])
	}
	if c := cmp.Compare(ts(a), ts(b)); c != 0 {
		return c
	}
	for i := 8; i < 16; i++ {
		if c := cmp.Compare(int8(a[i]), int8(b[i])); c != 0 {
			return c
		}
	}
	return 0
}
