package orm

import (
	"fmt"
	"math/big"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/inf.v0"
)

// Counter is the Go type of a counter column. A model with a Counter field is a counter
// table: all its non-key columns must be counters, and they change only by Increment.
type Counter int64

var (
	typeTime     = reflect.TypeFor[time.Time]()
	typeDuration = reflect.TypeFor[time.Duration]()
	typeCQLDur   = reflect.TypeFor[Duration]()
	typeUUID     = reflect.TypeFor[UUID]()
	typeBytes    = reflect.TypeFor[[]byte]()
	typeIP       = reflect.TypeFor[net.IP]()
	typeBigInt   = reflect.TypeFor[big.Int]()
	typeDec      = reflect.TypeFor[inf.Dec]()
	typeCounter  = reflect.TypeFor[Counter]()
	typeFloat32  = reflect.TypeFor[float32]()
)

// cqlType is a CQL type built from a Go type and the field's options.
type cqlType struct {
	name   string     // base name: text, int, list, set, map, tuple, vector, udt, ...
	elems  []*cqlType // collection, tuple and vector element types
	udt    *udtInfo   // for name == "udt"
	dim    int        // for vectors
	frozen bool
}

// String returns the type as CQL text, such as frozen<map<text, frozen<list<int>>>>.
func (t *cqlType) String() string {
	var s string
	switch t.name {
	case "list", "set":
		s = t.name + "<" + t.elems[0].String() + ">"
	case "map":
		s = "map<" + t.elems[0].String() + ", " + t.elems[1].String() + ">"
	case "tuple":
		parts := make([]string, len(t.elems))
		for i, e := range t.elems {
			parts[i] = e.String()
		}
		// Tuples are always frozen; say so, as system_schema does.
		return "frozen<tuple<" + strings.Join(parts, ", ") + ">>"
	case "vector":
		return "vector<" + t.elems[0].String() + ", " + strconv.Itoa(t.dim) + ">"
	case "udt":
		s = quote(t.udt.name)
	default:
		return t.name
	}
	if t.frozen {
		return "frozen<" + s + ">"
	}
	return s
}

// isCollection reports whether t is a non-frozen list, set or map, which Cassandra can
// change element by element.
func (t *cqlType) isCollection() bool {
	return !t.frozen && (t.name == "list" || t.name == "set" || t.name == "map")
}

// udtInfo describes a user-defined type made from a Go struct.
type udtInfo struct {
	name   string
	goType reflect.Type
	fields []udtField
}

type udtField struct {
	name string
	typ  *cqlType
}

// typeOpts are the per-field options that choose among several faithful CQL types.
type typeOpts struct {
	ascii, timeuuid, date, timeOfDay, set, frozen, tuple bool
	vectorDim                                            int
}

// typeMapper turns Go types into CQL types, collecting the UDTs it meets in dependency
// order (a UDT after the UDTs it uses).
type typeMapper struct {
	udts   []*udtInfo
	byType map[reflect.Type]*udtInfo
}

func newTypeMapper() *typeMapper { return &typeMapper{byType: map[reflect.Type]*udtInfo{}} }

// mapType returns the CQL type for Go type t. nested is true inside a collection, tuple
// or UDT, where Cassandra requires collections and UDTs to be frozen.
func (m *typeMapper) mapType(t reflect.Type, o typeOpts, nested bool, where string) (*cqlType, error) {
	if t.Kind() == reflect.Pointer && t != typeIP {
		t = t.Elem()
	}
	bad := func(why string) (*cqlType, error) {
		return nil, fmt.Errorf("%w: %s: Go type %s has no faithful CQL type: %s", ErrInvalidModel, where, t, why)
	}
	switch t {
	case typeTime:
		if o.date {
			return &cqlType{name: "date"}, nil
		}
		return &cqlType{name: "timestamp"}, nil
	case typeDuration:
		if o.timeOfDay {
			return &cqlType{name: "time"}, nil
		}
		return bad(`tag it orm:"time" for a time of day, or use orm.Duration for a CQL duration`)
	case typeCQLDur:
		return &cqlType{name: "duration"}, nil
	case typeUUID:
		if o.timeuuid {
			return &cqlType{name: "timeuuid"}, nil
		}
		return &cqlType{name: "uuid"}, nil
	case typeBytes:
		return &cqlType{name: "blob"}, nil
	case typeIP:
		return &cqlType{name: "inet"}, nil
	case typeBigInt:
		return &cqlType{name: "varint"}, nil
	case typeDec:
		return &cqlType{name: "decimal"}, nil
	case typeCounter:
		if nested {
			return bad("a counter cannot sit inside a collection or UDT")
		}
		return &cqlType{name: "counter"}, nil
	}
	switch t.Kind() {
	case reflect.String:
		if o.ascii {
			return &cqlType{name: "ascii"}, nil
		}
		return &cqlType{name: "text"}, nil
	case reflect.Bool:
		return &cqlType{name: "boolean"}, nil
	case reflect.Int8:
		return &cqlType{name: "tinyint"}, nil
	case reflect.Int16:
		return &cqlType{name: "smallint"}, nil
	case reflect.Int32:
		return &cqlType{name: "int"}, nil
	case reflect.Int64, reflect.Int:
		return &cqlType{name: "bigint"}, nil
	case reflect.Float32:
		return &cqlType{name: "float"}, nil
	case reflect.Float64:
		return &cqlType{name: "double"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return bad("CQL has no unsigned integers; use a signed type one size up")
	case reflect.Slice:
		if o.vectorDim > 0 {
			if t.Elem() != typeFloat32 {
				return bad("vectors are []float32")
			}
			return &cqlType{name: "vector", elems: []*cqlType{{name: "float"}}, dim: o.vectorDim}, nil
		}
		elem, err := m.mapType(t.Elem(), typeOpts{}, true, where+" element")
		if err != nil {
			return nil, err
		}
		name := "list"
		if o.set {
			name = "set"
		}
		return &cqlType{name: name, elems: []*cqlType{elem}, frozen: o.frozen || nested}, nil
	case reflect.Map:
		key, err := m.mapType(t.Key(), typeOpts{}, true, where+" key")
		if err != nil {
			return nil, err
		}
		if t.Elem().Kind() == reflect.Struct && t.Elem().NumField() == 0 {
			return bad(`the driver cannot read a set into a map; use a slice tagged orm:"set"`)
		}
		val, err := m.mapType(t.Elem(), typeOpts{}, true, where+" value")
		if err != nil {
			return nil, err
		}
		return &cqlType{name: "map", elems: []*cqlType{key, val}, frozen: o.frozen || nested}, nil
	case reflect.Struct:
		if o.tuple {
			return m.tupleType(t, where)
		}
		u, err := m.udt(t, where)
		if err != nil {
			return nil, err
		}
		// A UDT column is frozen: it is written and read whole, which is what a Go
		// struct value is.
		return &cqlType{name: "udt", udt: u, frozen: true}, nil
	}
	return bad("unsupported kind " + t.Kind().String())
}

func (m *typeMapper) tupleType(t reflect.Type, where string) (*cqlType, error) {
	ct := &cqlType{name: "tuple", frozen: true}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			return nil, fmt.Errorf("%w: %s: tuple struct %s has unexported field %s; every field is a tuple element",
				ErrInvalidModel, where, t, f.Name)
		}
		opts, err := parseTypeOpts(f.Tag.Get("orm"))
		if err != nil {
			return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidModel, t, f.Name, err)
		}
		e, err := m.mapType(f.Type, opts, true, where+"."+f.Name)
		if err != nil {
			return nil, err
		}
		ct.elems = append(ct.elems, e)
	}
	if len(ct.elems) == 0 {
		return nil, fmt.Errorf("%w: %s: tuple struct %s has no fields", ErrInvalidModel, where, t)
	}
	return ct, nil
}

// UDTNamer lets a struct used as a user-defined type choose its CQL type name. Without
// it the name is the struct's name in snake_case.
type UDTNamer interface {
	UDTName() string
}

func (m *typeMapper) udt(t reflect.Type, where string) (*udtInfo, error) {
	if u, ok := m.byType[t]; ok {
		if u.fields == nil {
			return nil, fmt.Errorf("%w: %s: UDT %s refers to itself", ErrInvalidModel, where, t)
		}
		return u, nil
	}
	name := snake(t.Name())
	if n, ok := reflect.New(t).Interface().(UDTNamer); ok {
		name = n.UDTName()
	}
	if err := CheckIdent("type", name); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	u := &udtInfo{name: name, goType: t}
	m.byType[t] = u
	var fields []udtField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("cql")
		if tag == "-" {
			continue
		}
		if tag == "" {
			// The driver binds UDT fields by their cql tag; without one it would
			// look the field up by the CQL name and miss.
			return nil, fmt.Errorf("%w: %s: field %s.%s of a user-defined type needs a cql:\"name\" tag",
				ErrInvalidModel, where, t, f.Name)
		}
		if err := CheckIdent("field", tag); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		opts, err := parseTypeOpts(f.Tag.Get("orm"))
		if err != nil {
			return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidModel, t, f.Name, err)
		}
		ft, err := m.mapType(f.Type, opts, true, t.String()+"."+f.Name)
		if err != nil {
			return nil, err
		}
		fields = append(fields, udtField{name: tag, typ: ft})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: %s: struct %s has no fields for a user-defined type", ErrInvalidModel, where, t)
	}
	u.fields = fields
	m.udts = append(m.udts, u)
	return u, nil
}

// parseTypeOpts reads the options of an orm tag that choose a CQL type. Options that
// concern keys, indexes and validation are read elsewhere and ignored here.
func parseTypeOpts(tag string) (typeOpts, error) {
	var o typeOpts
	for opt := range strings.SplitSeq(tag, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		switch k {
		case "ascii":
			o.ascii = true
		case "timeuuid":
			o.timeuuid = true
		case "date":
			o.date = true
		case "time":
			o.timeOfDay = true
		case "set":
			o.set = true
		case "frozen":
			o.frozen = true
		case "tuple":
			o.tuple = true
		case "vector":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 8192 {
				return o, fmt.Errorf("vector=%q: want a dimension between 1 and 8192", v)
			}
			o.vectorDim = n
		}
	}
	return o, nil
}

// snake turns a Go name into snake_case: UserID -> user_id, HTTPServer -> http_server.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prevLower := rs[i-1] >= 'a' && rs[i-1] <= 'z' || rs[i-1] >= '0' && rs[i-1] <= '9'
			nextLower := i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z'
			prevUpper := rs[i-1] >= 'A' && rs[i-1] <= 'Z'
			if prevLower || (prevUpper && nextLower) {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
