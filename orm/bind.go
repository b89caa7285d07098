package orm

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Binding. Every value the ORM binds to a marker (a written field, a key, a
// predicate or condition value, a change, a vector to search by) goes through
// Table.bind or Table.encode, which turns it into the CQL encoding of its column's
// type while the statement is built. So a value that does not fit its column is
// refused before anything is sent, with an error naming the table and the column;
// a value reaches the server in the same form whichever statement carries it (a
// date written by Insert is found by Get, Where and DeleteIf with the same
// time.Time); and a page cursor can be bound to the exact bytes of its query.

// typeProto is the protocol version the driver's type descriptions are made for.
// Value encodings are the same in protocols 4 and 5.
const typeProto = 4

// encoded is a value in its CQL encoding for type info of column col of table; the
// driver sends it unchanged once the live column's type, which the driver learnt when
// it prepared the statement, is found to be the same type. A model out of step with
// its table (one never synced, or another service's older model) is so refused
// instead of writing bytes of one type into a column of another.
type encoded struct {
	b     []byte
	info  gocql.TypeInfo
	table *Table
	col   *Column
}

// MarshalCQL implements gocql.Marshaler.
func (e encoded) MarshalCQL(live gocql.TypeInfo) ([]byte, error) {
	if live != nil && !sameType(e.info, live) {
		return nil, fmt.Errorf("%w: table %s: column %s: the model has %s, the live table %s: sync the model, or fix its field",
			ErrInvalidValue, e.table.Name, e.col.Name, e.col.Type, typeName(live))
	}
	return e.b, nil
}

// sameType reports whether the ORM's description of a type and the driver's
// description of a live column's type are one CQL type (text and varchar are one).
func sameType(ours, live gocql.TypeInfo) bool {
	switch o := ours.(type) {
	case dateType:
		ours = o.TypeInfo
	case timeOfDayType:
		ours = o.TypeInfo
	case asciiType:
		ours = o.TypeInfo
	case timeUUIDType:
		ours = o.TypeInfo
	case udtType:
		ours = o.UDTTypeInfo
	}
	ot, lt := ours.Type(), live.Type()
	if ot == gocql.TypeText {
		ot = gocql.TypeVarchar
	}
	if lt == gocql.TypeText {
		lt = gocql.TypeVarchar
	}
	if ot != lt {
		return false
	}
	switch o := ours.(type) {
	case gocql.CollectionType:
		l, ok := live.(gocql.CollectionType)
		return ok && (o.Key == nil) == (l.Key == nil) && (o.Key == nil || sameType(o.Key, l.Key)) &&
			(o.Elem == nil) == (l.Elem == nil) && (o.Elem == nil || sameType(o.Elem, l.Elem))
	case gocql.TupleTypeInfo:
		l, ok := live.(gocql.TupleTypeInfo)
		if !ok || len(l.Elems) != len(o.Elems) {
			return false
		}
		for i := range o.Elems {
			if !sameType(o.Elems[i], l.Elems[i]) {
				return false
			}
		}
		return true
	case gocql.UDTTypeInfo:
		l, ok := live.(gocql.UDTTypeInfo)
		if !ok || l.Name != o.Name || len(l.Elements) < len(o.Elements) {
			return false
		}
		for i, f := range o.Elements {
			if l.Elements[i].Name != f.Name || !sameType(f.Type, l.Elements[i].Type) {
				return false
			}
		}
		return true
	case gocql.VectorType:
		l, ok := live.(gocql.VectorType)
		return ok && l.Dimensions == o.Dimensions && sameType(o.SubType, l.SubType)
	}
	return true
}

// typeName names a driver type description for an error message.
func typeName(info gocql.TypeInfo) string {
	if s, ok := info.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("of type %d", info.Type())
}

// driverType returns the driver's description of CQL type ct, with the ORM's own
// conversions (dates, times of day, ascii, timeuuid, UDTs) wherever they occur,
// nested or not.
func driverType(ct *cqlType) gocql.TypeInfo {
	switch ct.name {
	case "list", "set":
		t := gocql.NewNativeType(typeProto, gocql.TypeCustom, ct.name+"<int>").(gocql.CollectionType)
		t.Elem = driverType(ct.elems[0])
		return t
	case "map":
		t := gocql.NewNativeType(typeProto, gocql.TypeCustom, "map<int, int>").(gocql.CollectionType)
		t.Key, t.Elem = driverType(ct.elems[0]), driverType(ct.elems[1])
		return t
	case "tuple":
		t := gocql.TupleTypeInfo{Elems: make([]gocql.TypeInfo, len(ct.elems))}
		for i, e := range ct.elems {
			t.Elems[i] = driverType(e)
		}
		return t
	case "vector":
		return gocql.VectorType{SubType: driverType(ct.elems[0]), Dimensions: ct.dim}
	case "udt":
		t := udtType{UDTTypeInfo: gocql.UDTTypeInfo{Name: ct.udt.name}, goType: ct.udt.goType}
		for _, f := range ct.udt.fields {
			t.Elements = append(t.Elements, gocql.UDTField{Name: f.name, Type: driverType(f.typ)})
		}
		return t
	case "date":
		return dateType{native("date")}
	case "time":
		return timeOfDayType{native("time")}
	case "ascii":
		return asciiType{native("ascii")}
	case "timeuuid":
		return timeUUIDType{native("timeuuid")}
	}
	return native(ct.name)
}

// native returns the driver's description of a CQL type without parameters.
func native(name string) gocql.TypeInfo {
	return gocql.NewNativeType(typeProto, gocql.TypeCustom, name)
}

// setOf returns the description of set<elem>, the type of the keys removed from a
// map.
func setOf(elem gocql.TypeInfo) gocql.TypeInfo {
	t := gocql.NewNativeType(typeProto, gocql.TypeCustom, "set<int>").(gocql.CollectionType)
	t.Elem = elem
	return t
}

// dateType encodes a time.Time as its calendar day in its own time zone. The
// driver converts to UTC first and rounds days before 1970 toward zero, so a
// value written one way and looked up the other would miss.
type dateType struct{ gocql.TypeInfo }

// Marshal implements gocql.TypeInfo.
func (d dateType) Marshal(v any) ([]byte, error) {
	t, ok := v.(time.Time)
	if !ok || t.IsZero() {
		return d.TypeInfo.Marshal(v)
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / (24 * 60 * 60)
	if day < math.MinInt32 || day > math.MaxInt32 {
		return nil, fmt.Errorf("%s is outside the range of a CQL date", t.Format(time.DateOnly))
	}
	// A CQL date is the number of days since the epoch, offset by 2^31.
	return binary.BigEndian.AppendUint32(nil, uint32(day+math.MaxInt32+1)), nil
}

// timeOfDayType refuses a time.Duration that is no time of day.
type timeOfDayType struct{ gocql.TypeInfo }

// Marshal implements gocql.TypeInfo.
func (t timeOfDayType) Marshal(v any) ([]byte, error) {
	if d, ok := v.(time.Duration); ok && (d < 0 || d >= 24*time.Hour) {
		return nil, fmt.Errorf("%s is not a time of day (from 0 up to 24h)", d)
	}
	return t.TypeInfo.Marshal(v)
}

// asciiType refuses text with bytes outside ASCII.
type asciiType struct{ gocql.TypeInfo }

// Marshal implements gocql.TypeInfo.
func (a asciiType) Marshal(v any) ([]byte, error) {
	b, err := a.TypeInfo.Marshal(v)
	if err != nil {
		return nil, err
	}
	for i, c := range b {
		if c >= 0x80 {
			return nil, fmt.Errorf("not ASCII: byte %#x at offset %d", c, i)
		}
	}
	return b, nil
}

// timeUUIDType refuses a UUID that is not a version 1 (time-based) UUID.
type timeUUIDType struct{ gocql.TypeInfo }

// Marshal implements gocql.TypeInfo.
func (u timeUUIDType) Marshal(v any) ([]byte, error) {
	b, err := u.TypeInfo.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) == 16 && b[6]>>4 != 1 {
		return nil, fmt.Errorf("a version %d UUID is no timeuuid (version 1)", b[6]>>4)
	}
	return b, nil
}

// udtType refuses a struct of another type than the UDT's: the driver would write
// the fields whose cql tags match and leave the others null.
type udtType struct {
	gocql.UDTTypeInfo
	goType reflect.Type
}

// Marshal implements gocql.TypeInfo.
func (u udtType) Marshal(v any) ([]byte, error) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Struct && rv.Type() != u.goType {
		return nil, fmt.Errorf("a %s is no %s (user-defined type %s)", rv.Type(), u.goType, u.Name)
	}
	return u.UDTTypeInfo.Marshal(v)
}

// encode returns what to bind for value v of driver type info in column c: nil and
// UnsetValue as they are, anything else in its CQL encoding. A value that does not
// fit is refused with ErrInvalidValue, naming the table and the column.
func (t *Table) encode(c *Column, info gocql.TypeInfo, v any) (any, error) {
	if v == nil || v == gocql.UnsetValue {
		return v, nil
	}
	b, err := gocql.Marshal(info, v)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: column %s (%s): %T value: %v", ErrInvalidValue, t.Name, c.Name, c.Type, v, err)
	}
	return encoded{b: b, info: info, table: t, col: c}, nil
}

// bind appends what to bind for value v of column c: one encoded value, or one per
// element of a top-level tuple, which is bound element by element (see marker). A
// tuple's value is the column's struct type (or a pointer to it); nil is a null
// tuple.
func (t *Table) bind(vals []any, c *Column, v any) ([]any, error) {
	if c.cql.name != "tuple" {
		e, err := t.encode(c, c.info, v)
		if err != nil {
			return vals, err
		}
		return append(vals, e), nil
	}
	elems := c.info.(gocql.TupleTypeInfo).Elems
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch {
	case v == nil || v == gocql.UnsetValue || rv.Kind() == reflect.Pointer:
		each := v
		if v != gocql.UnsetValue {
			each = nil
		}
		for range elems {
			vals = append(vals, each)
		}
		return vals, nil
	case rv.Type() != c.goType:
		return vals, fmt.Errorf("%w: table %s: column %s (%s): a %T value: want a %s", ErrInvalidValue, t.Name, c.Name, c.Type, v, c.goType)
	}
	for i, info := range elems {
		e, err := t.encode(c, info, rv.Field(i).Interface())
		if err != nil {
			return vals, err
		}
		vals = append(vals, e)
	}
	return vals, nil
}

// keyWhereOf returns "k1" = ? AND ... over the first n primary key columns, after
// the tenant column of a tenant-scoped table (bind its value first: scoped.keys).
func (t *Table) keyWhereOf(n int) string {
	parts := make([]string, 0, n+1)
	if t.Tenant != nil {
		parts = append(parts, quote(t.Tenant.Name)+" = ?")
	}
	for _, c := range t.pk[:n] {
		parts = append(parts, quote(c.Name)+" = "+marker(c))
	}
	return strings.Join(parts, " AND ")
}

// appendPredicate writes `"col" op marker(s)` of predicate p on column c and appends
// its bound values: CONTAINS takes an element (a map's value), CONTAINS KEY a map's
// key, the other operators values of the column's type.
func (t *Table) appendPredicate(b *strings.Builder, vals []any, c *Column, p Predicate) ([]any, error) {
	b.WriteString(quote(c.Name) + " " + p.op)
	var err error
	switch p.op {
	case "IN":
		if len(p.vals) == 0 {
			return vals, fmt.Errorf("%w: %s: IN on %s with no values", ErrInvalidQuery, t.Name, c.Name)
		}
		b.WriteString(" (")
		for i, v := range p.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(marker(c))
			if vals, err = t.bind(vals, c, v); err != nil {
				return vals, err
			}
		}
		b.WriteString(")")
		return vals, nil
	case "CONTAINS", "CONTAINS KEY":
		coll, ok := c.info.(gocql.CollectionType)
		if !ok {
			return vals, fmt.Errorf("%w: %s: %s on %s, which is %s, not a collection", ErrInvalidQuery, t.Name, p.op, c.Name, c.Type)
		}
		info := coll.Elem
		if p.op == "CONTAINS KEY" {
			info = coll.Key
		}
		b.WriteString(" ?")
		e, err := t.encode(c, info, p.vals[0])
		if err != nil {
			return vals, err
		}
		return append(vals, e), nil
	}
	b.WriteString(" " + marker(c))
	return t.bind(vals, c, p.vals[0])
}
