package filter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Parse reads a filter's JSON form (see the package documentation), such as
// {"status": {"$in": ["processing", "shipped"]}, "quantity": {"$lt": 10}}. It
// checks the form only; Bind checks the columns and the values. It refuses
// malformed input with an error matching ErrSyntax, and input past MaxBytes,
// MaxDepth or MaxValues with one matching ErrLimit.
func Parse(data []byte) (Filter, error) {
	if len(data) > MaxBytes {
		return Filter{}, refuse(ErrLimit, "filter: %d bytes of JSON, more than %d", len(data), MaxBytes)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	p := parser{d: d}
	if err := p.open('{', "a filter", "the filter"); err != nil {
		return Filter{}, err
	}
	n, err := p.filter(1)
	if err != nil {
		return Filter{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return Filter{}, refuse(ErrSyntax, "filter: data after the filter")
	}
	return Filter{n}, nil
}

// UnmarshalJSON implements json.Unmarshaler with Parse.
func (f *Filter) UnmarshalJSON(data []byte) error {
	g, err := Parse(data)
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// parser reads the JSON form token by token, so that it sees duplicate keys and
// stops at the first level past MaxDepth.
type parser struct{ d *json.Decoder }

func (p *parser) token() (json.Token, error) {
	t, err := p.d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, refuse(ErrSyntax, "filter: malformed JSON: %v", err)
	}
	return t, nil
}

// open reads delimiter want ('{' or '['), which what (the kind of value wanted)
// opens, at where.
func (p *parser) open(want json.Delim, what, where string) error {
	t, err := p.token()
	if err != nil {
		return err
	}
	if t != want {
		return refuse(ErrSyntax, "filter: %s: want %s, not %s", where, what, describeToken(t))
	}
	return nil
}

func describeToken(t json.Token) string {
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", t)
	case json.Number:
		return "the number " + string(t)
	case bool:
		return fmt.Sprintf("%t", t)
	}
	return "null"
}

func (p *parser) deeper(depth int) error {
	if depth > MaxDepth {
		return refuse(ErrLimit, "filter: the JSON nests deeper than %d", MaxDepth)
	}
	return nil
}

// keys reads the keys of an object whose '{' has been read, calling each to read
// each key's value, and refuses a key given twice.
func (p *parser) keys(where string, each func(key string) error) error {
	seen := map[string]bool{}
	for p.d.More() {
		t, err := p.token()
		if err != nil {
			return err
		}
		key, ok := t.(string) // the decoder gives an object's keys as strings
		if !ok {
			return refuse(ErrSyntax, "filter: %s: a key that is no string", where)
		}
		if seen[key] {
			return refuse(ErrSyntax, "filter: %s: key %q given twice", where, key)
		}
		seen[key] = true
		if err := each(key); err != nil {
			return err
		}
	}
	_, err := p.token() // '}'
	return err
}

// filter reads a filter object whose '{' has been read, at depth.
func (p *parser) filter(depth int) (*node, error) {
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	var kids []*node
	err := p.keys("a filter", func(key string) error {
		var n *node
		var err error
		switch key {
		case "$and", "$or":
			n, err = p.list(key, depth)
		case "$not":
			if err = p.open('{', "a filter", key); err == nil {
				n, err = p.filter(depth + 1)
				n = &node{kind: kNot, kids: []*node{n}}
			}
		default:
			if strings.HasPrefix(key, "$") {
				if _, ok := opNamed(key); ok {
					return refuse(ErrSyntax, `filter: %s applies to a column, as in {"column": {%q: ...}}`, key, key)
				}
				return refuse(ErrSyntax, "filter: unknown operator %q", key)
			}
			var ns []*node
			ns, err = p.field(key, depth)
			kids = append(kids, ns...)
			return err
		}
		kids = append(kids, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return and(kids), nil
}

// and returns the conjunction of kids: nil (the empty filter) for none, the one
// for one.
func and(kids []*node) *node {
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	return &node{kind: kAnd, kids: kids}
}

// list reads the array of filters of $and or $or.
func (p *parser) list(key string, depth int) (*node, error) {
	if err := p.deeper(depth + 1); err != nil {
		return nil, err
	}
	if err := p.open('[', "an array of filters", key); err != nil {
		return nil, err
	}
	n := &node{kind: kAnd}
	if key == "$or" {
		n.kind = kOr
	}
	for p.d.More() {
		if err := p.open('{', "a filter", key); err != nil {
			return nil, err
		}
		kid, err := p.filter(depth + 2)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	_, err := p.token() // ']'
	return n, err
}

// field reads the value of a column's key: a value ($eq) or an object of
// operators.
func (p *parser) field(col string, depth int) ([]*node, error) {
	where := "column " + col
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('['):
		return nil, refuse(ErrSyntax, "filter: %s: an array is no value (for one of several values use $in)", where)
	case json.Delim('{'):
		return p.ops(col, depth+1)
	}
	return []*node{{kind: kCond, col: col, op: opEq, vals: []any{scalarToken(t)}}}, nil
}

// ops reads an object of operators on column col whose '{' has been read.
func (p *parser) ops(col string, depth int) ([]*node, error) {
	where := "column " + col
	if err := p.deeper(depth); err != nil {
		return nil, err
	}
	var out []*node
	err := p.keys(where, func(key string) error {
		if key == "$not" {
			if err := p.open('{', "an object of operators", where+": $not"); err != nil {
				return err
			}
			ns, err := p.ops(col, depth+1)
			out = append(out, &node{kind: kNot, kids: []*node{and(ns)}})
			return err
		}
		o, ok := opNamed(key)
		switch {
		case ok:
		case key == "$and" || key == "$or":
			return refuse(ErrSyntax, "filter: %s: %s applies to filters, not to a column", where, key)
		case strings.HasPrefix(key, "$"):
			return refuse(ErrSyntax, "filter: %s: unknown operator %q", where, key)
		default:
			return refuse(ErrSyntax, "filter: %s: key %q in an object of operators: an object is no value, and operators start with $", where, key)
		}
		n := &node{kind: kCond, col: col, op: o}
		out = append(out, n)
		where := where + ": " + key
		switch o {
		case opExists:
			t, err := p.token()
			if err != nil {
				return err
			}
			b, ok := t.(bool)
			if !ok {
				return refuse(ErrSyntax, "filter: %s: want true or false, not %s", where, describeToken(t))
			}
			n.exists = b
			return nil
		case opIn, opNin:
			if err := p.deeper(depth + 1); err != nil {
				return err
			}
			if err := p.open('[', "an array of values", where); err != nil {
				return err
			}
			for p.d.More() {
				if len(n.vals) == MaxValues {
					return refuse(ErrLimit, "filter: %s: more than %d values", where, MaxValues)
				}
				v, err := p.value(where)
				if err != nil {
					return err
				}
				n.vals = append(n.vals, v)
			}
			_, err := p.token() // ']'
			return err
		}
		v, err := p.value(where)
		n.vals = []any{v}
		return err
	})
	if err == nil && len(out) == 0 {
		err = refuse(ErrSyntax, "filter: %s: an empty object of operators", where)
	}
	return out, err
}

// value reads a scalar value.
func (p *parser) value(where string) (any, error) {
	t, err := p.token()
	if err != nil {
		return nil, err
	}
	if _, ok := t.(json.Delim); ok {
		return nil, refuse(ErrSyntax, "filter: %s: want a value, not %s", where, describeToken(t))
	}
	return scalarToken(t), nil
}

// scalarToken turns a token other than a delimiter into a jsonValue.
func scalarToken(t json.Token) jsonValue {
	switch t := t.(type) {
	case string:
		return jsonValue{kind: jsString, text: t}
	case json.Number:
		return jsonValue{kind: jsNumber, text: string(t)}
	case bool:
		return jsonValue{kind: jsBool, b: t}
	}
	return jsonValue{kind: jsNull}
}

// MarshalJSON implements json.Marshaler: it writes the form Parse reads, so that
// Parse(f.MarshalJSON()) matches the same rows as f once bound. Conditions on
// distinct columns are written side by side in one object, several on one column
// in one object of operators; where that cannot be done (two $gt on one column)
// the filters go in an $and. It fails for a builder value that has no JSON form:
// NaN or an infinity, a time.Duration that is no time of day, an orm.Duration of
// mixed signs, a value of a Go type the package does not take.
func (f Filter) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := writeFilter(&b, f.n); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// entry is one key of a filter object as it will be written: a column's
// operators, or $and, $or or $not with its JSON.
type entry struct {
	key string
	ops []opEntry // for a column
	raw []byte    // for $and, $or, $not
}

// opEntry is one operator of a column's object of operators.
type opEntry struct {
	name string
	raw  []byte
}

func writeFilter(b *bytes.Buffer, n *node) error {
	es, err := entries(n)
	if err != nil {
		return err
	}
	writeEntries(b, es)
	return nil
}

// writeEntries writes a filter object: a column's operators as its value (a
// lone $eq as the value alone), the JSON of $and, $or and $not as it is.
func writeEntries(b *bytes.Buffer, es []entry) {
	b.WriteByte('{')
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, e.key)
		b.WriteByte(':')
		switch {
		case e.raw != nil:
			b.Write(e.raw)
		case len(e.ops) == 1 && e.ops[0].name == "$eq":
			b.Write(e.ops[0].raw)
		default:
			writeOps(b, e.ops)
		}
	}
	b.WriteByte('}')
}

// writeOps writes an object of operators.
func writeOps(b *bytes.Buffer, ops []opEntry) {
	es := make([]entry, len(ops))
	for i, o := range ops {
		es[i] = entry{key: o.name, raw: o.raw}
	}
	writeEntries(b, es)
}

func writeString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s) // a string always marshals
	b.Write(j)
}

// entries returns the keys of n's filter object.
func entries(n *node) ([]entry, error) {
	if n == nil {
		return nil, nil
	}
	switch n.kind {
	case kAnd:
		var es []entry
		at := map[string]int{}
		kids := make([][]entry, len(n.kids))
		merged := len(n.kids) > 0
		for i, k := range n.kids {
			var err error
			if kids[i], err = entries(k); err != nil {
				return nil, err
			}
			if merged {
				es, merged = merge(es, at, kids[i])
			}
		}
		if merged {
			return es, nil
		}
		all := make([][]byte, len(kids))
		for i, kes := range kids {
			var b bytes.Buffer
			writeEntries(&b, kes)
			all[i] = b.Bytes()
		}
		return []entry{{key: "$and", raw: array(all)}}, nil
	case kOr:
		var all [][]byte
		for _, k := range n.kids {
			var b bytes.Buffer
			if err := writeFilter(&b, k); err != nil {
				return nil, err
			}
			all = append(all, b.Bytes())
		}
		return []entry{{key: "$or", raw: array(all)}}, nil
	case kNot:
		col, ops, ok, err := local(n.kids[0])
		if err != nil {
			return nil, err
		}
		if ok {
			var b bytes.Buffer
			writeOps(&b, ops)
			return []entry{{key: col, ops: []opEntry{{"$not", b.Bytes()}}}}, nil
		}
		var b bytes.Buffer
		if err := writeFilter(&b, n.kids[0]); err != nil {
			return nil, err
		}
		return []entry{{key: "$not", raw: b.Bytes()}}, nil
	}
	o, err := condOp(n)
	if err != nil {
		return nil, err
	}
	return []entry{{key: n.col, ops: []opEntry{o}}}, nil
}

// merge adds the entries of one more filter to those of an object (at holds the
// place of each key), and reports false when they cannot share it: the same
// $-key twice, or the same operator twice on one column.
func merge(to []entry, at map[string]int, more []entry) ([]entry, bool) {
	for _, e := range more {
		i, ok := at[e.key]
		switch {
		case !ok:
			at[e.key] = len(to)
			to = append(to, e)
		case e.raw != nil || to[i].raw != nil || sharesOp(to[i].ops, e.ops):
			return nil, false
		default:
			to[i].ops = append(to[i].ops, e.ops...)
		}
	}
	return to, true
}

func sharesOp(a, b []opEntry) bool {
	for _, x := range a {
		for _, y := range b {
			if x.name == y.name {
				return true
			}
		}
	}
	return false
}

// local returns the column and operators of n when n is a condition on one
// column that an object of operators can hold: a condition, an And of such
// conditions on one column with distinct operators, a Not of one.
func local(n *node) (col string, ops []opEntry, ok bool, err error) {
	if n == nil {
		return "", nil, false, nil
	}
	switch n.kind {
	case kCond:
		o, err := condOp(n)
		return n.col, []opEntry{o}, err == nil, err
	case kNot:
		col, inner, ok, err := local(n.kids[0])
		if !ok || err != nil {
			return "", nil, false, err
		}
		var b bytes.Buffer
		writeOps(&b, inner)
		return col, []opEntry{{"$not", b.Bytes()}}, true, nil
	case kAnd:
		for i, k := range n.kids {
			c, kops, ok, err := local(k)
			if !ok || err != nil || i > 0 && (c != col || sharesOp(ops, kops)) {
				return "", nil, false, err
			}
			col, ops = c, append(ops, kops...)
		}
		return col, ops, len(ops) > 0, nil
	}
	return "", nil, false, nil
}

// condOp returns the operator entry of condition n.
func condOp(n *node) (opEntry, error) {
	e := opEntry{name: n.op.String()}
	if n.op == opExists {
		e.raw = []byte(strconv.FormatBool(n.exists))
		return e, nil
	}
	var vals [][]byte
	for _, v := range n.vals {
		raw, err := valueJSON(v)
		if err != nil {
			return e, fmt.Errorf("filter: column %s: %s: %w", n.col, e.name, err)
		}
		vals = append(vals, raw)
	}
	if n.op == opIn || n.op == opNin {
		e.raw = array(vals)
		return e, nil
	}
	if len(vals) != 1 {
		return e, fmt.Errorf("filter: column %s: %s takes one value, not %d", n.col, e.name, len(vals))
	}
	e.raw = vals[0]
	return e, nil
}

func array(items [][]byte) []byte {
	return append(append([]byte{'['}, bytes.Join(items, []byte{','})...), ']')
}

// valueJSON writes a value in the form Parse and Bind read back: as it was read
// for a value from Parse; for a builder's value, by its Go type.
func valueJSON(v any) ([]byte, error) {
	if j, ok := v.(jsonValue); ok {
		switch j.kind {
		case jsString:
			return json.Marshal(j.text)
		case jsNumber:
			return []byte(j.text), nil
		case jsBool:
			return []byte(strconv.FormatBool(j.b)), nil
		}
		return []byte("null"), nil
	}
	rv := deref(v)
	if !rv.IsValid() {
		return []byte("null"), nil
	}
	text := func(s string, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return json.Marshal(s)
	}
	switch rv.Type() {
	case typeTime:
		return text(rv.Interface().(time.Time).Format(time.RFC3339Nano), nil)
	case typeDuration:
		return text(formatTimeOfDay(time.Duration(rv.Int())))
	case typeCQLDur:
		return text(formatDuration(rv.Interface().(orm.Duration)))
	case typeUUID:
		return text(rv.Interface().(orm.UUID).String(), nil)
	case typeIP:
		if rv.Len() == 0 {
			return []byte("null"), nil
		}
		return text(net.IP(rv.Bytes()).String(), nil)
	case typeBigInt:
		return []byte(bigOf(rv).String()), nil
	case typeDec:
		return []byte(decOf(rv).String()), nil
	}
	switch rv.Kind() {
	case reflect.String:
		return json.Marshal(rv.String())
	case reflect.Bool:
		return []byte(strconv.FormatBool(rv.Bool())), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return []byte(strconv.FormatInt(rv.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return []byte(strconv.FormatUint(rv.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%g has no JSON form", f)
		}
		return []byte(strconv.FormatFloat(f, 'g', -1, rv.Type().Bits())), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.IsNil() {
				return []byte("null"), nil
			}
			return json.Marshal(base64.StdEncoding.EncodeToString(rv.Bytes()))
		}
	}
	return nil, fmt.Errorf("a %s value has no JSON form in a filter", rv.Type())
}
