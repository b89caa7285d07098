package graphql

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

var (
	typeTime     = reflect.TypeFor[time.Time]()
	typeDuration = reflect.TypeFor[time.Duration]()
	typeCQLDur   = reflect.TypeFor[orm.Duration]()
	typeUUID     = reflect.TypeFor[orm.UUID]()
	typeBytes    = reflect.TypeFor[[]byte]()
	typeIP       = reflect.TypeFor[net.IP]()
	typeBigInt   = reflect.TypeFor[big.Int]()
	typeDec      = reflect.TypeFor[inf.Dec]()
	typeCounter  = reflect.TypeFor[orm.Counter]()
)

// scalarSDL declares the custom scalars, each with what its value looks like.
const scalarSDL = `"A CQL bigint or counter, as a decimal string: GraphQL's Int is 32-bit."
scalar Long
"A CQL uuid or timeuuid, in its 36-character text form."
scalar UUID
"A CQL timestamp, RFC 3339 with nanoseconds, in UTC."
scalar Timestamp
"A CQL date, YYYY-MM-DD."
scalar Date
"A CQL time of day, HH:MM:SS.nnnnnnnnn."
scalar Time
"A CQL duration, as <months>mo<days>d<nanoseconds>ns, e.g. 1mo2d300ns."
scalar Duration
"A CQL decimal, as a decimal string."
scalar Decimal
"A CQL varint, as a decimal string."
scalar Varint
"A CQL inet, an IPv4 or IPv6 address."
scalar Inet
"A CQL blob, standard base64."
scalar Blob
`

// fieldKind says how one Go type is shown in GraphQL and converted both ways.
type fieldKind struct {
	gql    string // GraphQL output type, without the trailing "!"
	input  string // GraphQL input type, without the trailing "!"
	opt    bool   // nil-able: the GraphQL type is nullable
	goType reflect.Type
}

// typeNamer builds the object types of UDTs and map entries as it meets them.
type typeNamer struct {
	objects map[string]string // type name -> SDL definition
	order   []string
	udts    map[reflect.Type]string
	refs    []*reference // Reference fields, some on UDTs
}

func newTypeNamer(refs []*reference) *typeNamer {
	return &typeNamer{objects: map[string]string{}, udts: map[reflect.Type]string{}, refs: refs}
}

func (n *typeNamer) add(name, def string) {
	if _, ok := n.objects[name]; !ok {
		n.objects[name] = def
		n.order = append(n.order, name)
	}
}

// kind maps a Go field type (with its column's CQL type text) to its GraphQL types.
// entry names the map entry type when t is a map.
func (n *typeNamer) kind(t reflect.Type, cqlText, entry string) (fieldKind, error) {
	k := fieldKind{goType: t}
	if t.Kind() == reflect.Pointer && t != typeIP {
		k.opt = true
		t = t.Elem()
	}
	scalar := func(s string) (fieldKind, error) { k.gql, k.input = s, s; return k, nil }
	base := cqlText
	if strings.HasPrefix(base, "frozen<") {
		base = strings.TrimSuffix(strings.TrimPrefix(base, "frozen<"), ">")
	}
	switch t {
	case typeTime:
		if base == "date" {
			return scalar("Date")
		}
		return scalar("Timestamp")
	case typeDuration:
		return scalar("Time")
	case typeCQLDur:
		return scalar("Duration")
	case typeUUID:
		return scalar("UUID")
	case typeBytes:
		k.opt = true
		return scalar("Blob")
	case typeIP:
		k.opt = true
		return scalar("Inet")
	case typeBigInt:
		return scalar("Varint")
	case typeDec:
		return scalar("Decimal")
	case typeCounter:
		return scalar("Long")
	}
	switch t.Kind() {
	case reflect.String:
		return scalar("String")
	case reflect.Bool:
		return scalar("Boolean")
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return scalar("Int")
	case reflect.Int64, reflect.Int:
		return scalar("Long")
	case reflect.Float32, reflect.Float64:
		return scalar("Float")
	case reflect.Slice:
		k.opt = true
		e, err := n.kind(t.Elem(), "", entry)
		if err != nil {
			return k, err
		}
		k.gql, k.input = "["+e.gql+bang(e)+"]", "["+e.input+bang(e)+"]"
		return k, nil
	case reflect.Map:
		k.opt = true
		kk, err := n.kind(t.Key(), "", entry+"Key")
		if err != nil {
			return k, err
		}
		vk, err := n.kind(t.Elem(), "", entry+"Value")
		if err != nil {
			return k, err
		}
		n.add(entry, fmt.Sprintf("type %s @shareable {\n  key: %s%s\n  value: %s%s\n}\n", entry, kk.gql, bang(kk), vk.gql, bang(vk)))
		n.add(entry+"Input", fmt.Sprintf("input %sInput {\n  key: %s%s\n  value: %s%s\n}\n", entry, kk.input, bang(kk), vk.input, bang(vk)))
		k.gql, k.input = "["+entry+"!]", "["+entry+"Input!]"
		return k, nil
	case reflect.Struct:
		name, err := n.udt(t)
		if err != nil {
			return k, err
		}
		k.gql, k.input = name, name+"Input"
		return k, nil
	}
	return k, fmt.Errorf("graphql: Go type %s has no GraphQL mapping", t)
}

func bang(k fieldKind) string {
	if k.opt {
		return ""
	}
	return "!"
}

// udt declares the object and input types of a UDT struct, named after the Go type.
func (n *typeNamer) udt(t reflect.Type) (string, error) {
	if name, ok := n.udts[t]; ok {
		return name, nil
	}
	name := t.Name()
	if name == "" {
		return "", fmt.Errorf("graphql: anonymous struct type %s has no GraphQL name", t)
	}
	n.udts[t] = name
	var out, in strings.Builder
	fmt.Fprintf(&out, "type %s @shareable {\n", name)
	fmt.Fprintf(&in, "input %sInput {\n", name)
	for i := range t.NumField() {
		f := t.Field(i)
		fn := udtFieldName(f)
		if fn == "" {
			continue
		}
		k, err := n.kind(f.Type, "", name+pascal(fn)+"Entry")
		if err != nil {
			return "", fmt.Errorf("graphql: UDT %s field %s: %w", name, f.Name, err)
		}
		fmt.Fprintf(&out, "  %s: %s%s\n", fn, k.gql, bang(k))
		fmt.Fprintf(&in, "  %s: %s\n", fn, k.input)
	}
	for _, r := range n.refs {
		if r.from == t {
			out.WriteString(r.sdlField())
		}
	}
	out.WriteString("}\n")
	in.WriteString("}\n")
	n.add(name, out.String())
	n.add(name+"Input", in.String())
	return name, nil
}

// udtFieldName is the CQL (and GraphQL) name of a UDT struct field, "" when skipped.
func udtFieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("cql")
	if tag == "-" {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return snake(f.Name)
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && (s[i-1] < 'A' || s[i-1] > 'Z') {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func pascal(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// output converts a Go value to its JSON-ready GraphQL value.
func output(v reflect.Value, cqlText string) any {
	t := v.Type()
	if t.Kind() == reflect.Pointer && t != typeIP {
		if v.IsNil() {
			return nil
		}
		v, t = v.Elem(), t.Elem()
	}
	switch t {
	case typeTime:
		tm := v.Interface().(time.Time)
		if strings.Contains(cqlText, "date") && !strings.Contains(cqlText, "timestamp") {
			return tm.UTC().Format(time.DateOnly)
		}
		return tm.UTC().Format(time.RFC3339Nano)
	case typeDuration:
		d := time.Duration(v.Int())
		return fmt.Sprintf("%02d:%02d:%02d.%09d", d/time.Hour, d/time.Minute%60, d/time.Second%60, d%time.Second)
	case typeCQLDur:
		d := v.Interface().(orm.Duration)
		return fmt.Sprintf("%dmo%dd%dns", d.Months, d.Days, d.Nanoseconds)
	case typeUUID:
		return v.Interface().(orm.UUID).String()
	case typeBytes:
		if v.IsNil() {
			return nil
		}
		return base64.StdEncoding.EncodeToString(v.Bytes())
	case typeIP:
		if v.IsNil() {
			return nil
		}
		return v.Interface().(net.IP).String()
	case typeBigInt, typeDec:
		if !v.CanAddr() { // a map value: copy it to call the pointer method
			p := reflect.New(t)
			p.Elem().Set(v)
			v = p.Elem()
		}
		return v.Addr().Interface().(fmt.Stringer).String()
	case typeCounter:
		return strconv.FormatInt(v.Int(), 10)
	}
	switch t.Kind() {
	case reflect.Int64, reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return v.Int()
	case reflect.Float32:
		return float64(float32(v.Float()))
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = output(v.Index(i), "")
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make([]any, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			out = append(out, map[string]any{"key": output(it.Key(), ""), "value": output(it.Value(), "")})
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		for i := range t.NumField() {
			if fn := udtFieldName(t.Field(i)); fn != "" {
				out[fn] = output(v.Field(i), "")
			}
		}
		return out
	}
	return v.Interface()
}

// input converts a coerced GraphQL input value into dst. where names the field for
// errors.
func input(dst reflect.Value, val any, where string) error {
	t := dst.Type()
	bad := func(why string) error {
		return fmt.Errorf("graphql: %s: %s", where, why)
	}
	if val == nil {
		dst.SetZero()
		return nil
	}
	if t.Kind() == reflect.Pointer && t != typeIP {
		p := reflect.New(t.Elem())
		if err := input(p.Elem(), val, where); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	str := func() (string, error) {
		s, ok := val.(string)
		if !ok {
			return "", bad(fmt.Sprintf("want a string, got %T", val))
		}
		return s, nil
	}
	switch t {
	case typeTime:
		s, err := str()
		if err != nil {
			return err
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if tm, err = time.Parse(time.DateOnly, s); err != nil {
				return bad("not an RFC 3339 timestamp or YYYY-MM-DD date: " + strconv.Quote(s))
			}
		}
		dst.Set(reflect.ValueOf(tm.UTC()))
		return nil
	case typeDuration:
		s, err := str()
		if err != nil {
			return err
		}
		var h, m, sec, ns int64
		if _, err := fmt.Sscanf(s, "%d:%d:%d.%d", &h, &m, &sec, &ns); err != nil {
			if _, err := fmt.Sscanf(s, "%d:%d:%d", &h, &m, &sec); err != nil {
				return bad("not a time of day HH:MM:SS[.nnnnnnnnn]: " + strconv.Quote(s))
			}
		}
		if h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 || ns < 0 || ns > 999999999 {
			return bad("time of day out of range: " + strconv.Quote(s))
		}
		dst.SetInt(int64(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ns)))
		return nil
	case typeCQLDur:
		s, err := str()
		if err != nil {
			return err
		}
		var d orm.Duration
		var tail string
		if n, _ := fmt.Sscanf(s, "%dmo%dd%dns%s", &d.Months, &d.Days, &d.Nanoseconds, &tail); n != 3 {
			return bad("not a duration <months>mo<days>d<nanos>ns: " + strconv.Quote(s))
		}
		dst.Set(reflect.ValueOf(d))
		return nil
	case typeUUID:
		s, err := str()
		if err != nil {
			return err
		}
		u, err := orm.ParseUUID(s)
		if err != nil {
			return bad("not a UUID: " + strconv.Quote(s))
		}
		dst.Set(reflect.ValueOf(u))
		return nil
	case typeBytes:
		s, err := str()
		if err != nil {
			return err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad("not standard base64")
		}
		dst.SetBytes(b)
		return nil
	case typeIP:
		s, err := str()
		if err != nil {
			return err
		}
		ip := net.ParseIP(s)
		if ip == nil {
			return bad("not an IP address: " + strconv.Quote(s))
		}
		dst.Set(reflect.ValueOf(ip))
		return nil
	case typeBigInt:
		s, err := str()
		if err != nil {
			return err
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return bad("not a decimal integer: " + strconv.Quote(s))
		}
		dst.Set(reflect.ValueOf(*b))
		return nil
	case typeDec:
		s, err := str()
		if err != nil {
			return err
		}
		d, ok := new(inf.Dec).SetString(s)
		if !ok {
			return bad("not a decimal: " + strconv.Quote(s))
		}
		dst.Set(reflect.ValueOf(*d))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		s, err := str()
		if err != nil {
			return err
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return bad(fmt.Sprintf("want a boolean, got %T", val))
		}
		dst.SetBool(b)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		var n int64
		switch x := val.(type) {
		case string:
			p, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return bad("not a 64-bit integer: " + strconv.Quote(x))
			}
			n = p
		case int64:
			n = x
		case int:
			n = int64(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return bad("not an integer")
			}
			n = int64(x)
		default:
			return bad(fmt.Sprintf("want an integer, got %T", val))
		}
		if dst.OverflowInt(n) {
			return bad(fmt.Sprintf("%d overflows %s", n, t))
		}
		dst.SetInt(n)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := val.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		case int:
			f = float64(x)
		default:
			return bad(fmt.Sprintf("want a number, got %T", val))
		}
		dst.SetFloat(f)
	case reflect.Slice:
		xs, ok := val.([]any)
		if !ok {
			return bad(fmt.Sprintf("want a list, got %T", val))
		}
		s := reflect.MakeSlice(t, len(xs), len(xs))
		for i, x := range xs {
			if err := input(s.Index(i), x, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		xs, ok := val.([]any)
		if !ok {
			return bad(fmt.Sprintf("want a list of {key, value}, got %T", val))
		}
		m := reflect.MakeMapWithSize(t, len(xs))
		for i, x := range xs {
			e, ok := x.(map[string]any)
			if !ok {
				return bad(fmt.Sprintf("entry %d is not an object", i))
			}
			k, v := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if err := input(k, e["key"], fmt.Sprintf("%s[%d].key", where, i)); err != nil {
				return err
			}
			if err := input(v, e["value"], fmt.Sprintf("%s[%d].value", where, i)); err != nil {
				return err
			}
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return bad(fmt.Sprintf("want an object, got %T", val))
		}
		for i := range t.NumField() {
			fn := udtFieldName(t.Field(i))
			if fn == "" {
				continue
			}
			if x, ok := obj[fn]; ok {
				if err := input(dst.Field(i), x, where+"."+fn); err != nil {
					return err
				}
			}
		}
	default:
		return bad("unsupported Go type " + t.String())
	}
	return nil
}
