package graphql

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// reference is a field of a model's or UDT's type holding a representation of an
// entity of another subgraph.
type reference struct {
	from     reflect.Type
	field    string
	typeName string
	keys     []refKey // by entity key field name
	list     bool
}

// refKey maps one key field of the entity to a field of From.
type refKey struct {
	entity, from string // GraphQL field names
	index        []int  // From's struct field
	cqlType      string // the column's CQL type, "" in a UDT
}

// Reference declares a field named field on From's type (From a model added
// first, or a UDT struct a model's column holds) of type typeName: an entity
// another subgraph resolves. The SDL declares typeName as a stub,
// type typeName @key(fields: "...", resolvable: false) with its key fields, whose
// GraphQL types are those of From's fields. keys maps each key field of the entity
// to a field (column) of From. A From field holding a list of keys (with one key
// field) makes a list field. The field's value is the representation
// ({__typename, key fields}) built from From's own values with no read; null where
// a key field is empty (its Go zero value or nil), and empty keys are left out of
// a list. UDTs inside map values get no reference fields. Call it before Build.
func Reference[From any](s *Schema, field, typeName string, keys map[string]string) error {
	t := reflect.TypeFor[From]()
	if s.built.Load() {
		return fmt.Errorf("graphql: Reference %s.%s after Build", t.Name(), field)
	}
	if !nameRE.MatchString(field) || strings.HasPrefix(field, "__") || !nameRE.MatchString(typeName) || strings.HasPrefix(typeName, "__") {
		return fmt.Errorf("graphql: Reference %s.%s: %q and %q must be GraphQL names", t.Name(), field, field, typeName)
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return fmt.Errorf("graphql: Reference %s: From (%s) must be a named struct type", field, t)
	}
	if len(keys) == 0 {
		return fmt.Errorf("graphql: Reference %s.%s: no key fields", t.Name(), field)
	}
	m := s.modelOf(t)
	if m != nil && (m.table.Column(field) != nil || m.hasField(s, field)) {
		return fmt.Errorf("graphql: Reference %s.%s: the name is taken", m.name, field)
	}
	r := &reference{from: t, field: field, typeName: typeName}
	for ek, ff := range keys {
		if !nameRE.MatchString(ek) {
			return fmt.Errorf("graphql: Reference %s.%s: key field %q is not a GraphQL name", t.Name(), field, ek)
		}
		k := refKey{entity: ek, from: ff}
		if m != nil {
			c := m.table.Column(ff)
			if c == nil {
				return fmt.Errorf("graphql: Reference %s.%s: table %s has no column %q", m.name, field, m.table.Name, ff)
			}
			f, _ := t.FieldByName(c.Field)
			k.index, k.cqlType = f.Index, c.Type
		} else {
			for i := range t.NumField() {
				if udtFieldName(t.Field(i)) == ff {
					k.index = t.Field(i).Index
				}
			}
			if k.index == nil {
				return fmt.Errorf("graphql: Reference %s.%s: UDT %s has no field %q", t.Name(), field, t.Name(), ff)
			}
		}
		ft := t.FieldByIndex(k.index).Type
		if ft.Kind() == reflect.Slice && ft != typeBytes && ft != typeIP {
			if len(keys) != 1 {
				return fmt.Errorf("graphql: Reference %s.%s: a list of keys (%s) needs exactly one key field", t.Name(), field, ff)
			}
			r.list = true
		}
		r.keys = append(r.keys, k)
	}
	sort.Slice(r.keys, func(i, j int) bool { return r.keys[i].entity < r.keys[j].entity })
	for _, x := range s.references {
		if x.from == t && x.field == field {
			return fmt.Errorf("graphql: Reference %s.%s: declared twice", t.Name(), field)
		}
	}
	s.references = append(s.references, r)
	return nil
}

// fieldSet is the stub's @key fields.
func (r *reference) fieldSet() string {
	names := make([]string, len(r.keys))
	for i, k := range r.keys {
		names[i] = k.entity
	}
	return strings.Join(names, " ")
}

// sdlField is the reference's field in From's type.
func (r *reference) sdlField() string {
	if r.list {
		return fmt.Sprintf("  \"The %s entities %s names (another subgraph resolves them).\"\n  %s: [%s!]\n", r.typeName, r.keys[0].from, r.field, r.typeName)
	}
	return fmt.Sprintf("  \"The %s entity whose key is in this row (another subgraph resolves it); null without a key.\"\n  %s: %s\n", r.typeName, r.field, r.typeName)
}

// stubs declares the entity stubs of every reference: one type per name, its key
// fields typed by the From fields; two references to a type must agree.
func (s *Schema) stubs(n *typeNamer) (string, error) {
	type stub struct{ keys, fields string }
	byName := map[string]stub{}
	var names []string
	for _, r := range s.references {
		if s.modelOf(r.from) == nil && n.udts[r.from] == "" {
			return "", fmt.Errorf("graphql: Reference %s.%s: %s is neither a model added nor a UDT of one", r.from.Name(), r.field, r.from)
		}
		if s.names[r.typeName] || n.objects[r.typeName] != "" {
			return "", fmt.Errorf("graphql: Reference %s.%s: %s is a type of this schema, not another subgraph's entity (use Relate)", r.from.Name(), r.field, r.typeName)
		}
		var fields strings.Builder
		for _, k := range r.keys {
			ft := r.from.FieldByIndex(k.index).Type
			if r.list {
				ft = ft.Elem()
			}
			kind, err := n.kind(ft, k.cqlType, r.typeName+pascal(k.entity)+"Entry")
			if err != nil {
				return "", fmt.Errorf("graphql: Reference %s.%s key %s: %w", r.from.Name(), r.field, k.entity, err)
			}
			fmt.Fprintf(&fields, "  %s: %s!\n", k.entity, kind.gql)
		}
		st := stub{r.fieldSet(), fields.String()}
		if old, ok := byName[r.typeName]; ok {
			if old != st {
				return "", fmt.Errorf("graphql: Reference %s.%s: entity %s is referenced with other key fields or types elsewhere", r.from.Name(), r.field, r.typeName)
			}
			continue
		}
		byName[r.typeName] = st
		names = append(names, r.typeName)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		st := byName[name]
		fmt.Fprintf(&b, "type %s @key(fields: %q, resolvable: false) {\n%s}\n", name, st.keys, st.fields)
	}
	return b.String(), nil
}

// value is the representation (or list of them) the reference holds in v, a From.
func (r *reference) value(v reflect.Value) any {
	if r.list {
		k := r.keys[0]
		xs := v.FieldByIndex(k.index)
		out := []any{}
		for i := range xs.Len() {
			if x := xs.Index(i); !empty(x) {
				out = append(out, map[string]any{typenameKey: r.typeName, k.entity: output(x, k.cqlType)})
			}
		}
		return out
	}
	rep := map[string]any{typenameKey: r.typeName}
	for _, k := range r.keys {
		x := v.FieldByIndex(k.index)
		if empty(x) {
			return nil
		}
		rep[k.entity] = output(x, k.cqlType)
	}
	return rep
}

func empty(v reflect.Value) bool {
	return v.IsZero() || (v.Kind() == reflect.Pointer && v.IsNil())
}

// withReferences adds the reference fields of the UDTs inside v to o, the output
// of v (maps of UDT structs, lists of them; not map values).
func (s *Schema) withReferences(v reflect.Value, o any) {
	t := v.Type()
	if t.Kind() == reflect.Pointer && t != typeIP {
		if v.IsNil() {
			return
		}
		v, t = v.Elem(), t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && t != typeBytes && t != typeIP:
		xs, _ := o.([]any)
		for i := range min(len(xs), v.Len()) {
			s.withReferences(v.Index(i), xs[i])
		}
	case t.Kind() == reflect.Struct && t != typeTime && t != typeBigInt && t != typeDec && t != typeCQLDur && t != typeUUID:
		obj, ok := o.(map[string]any)
		if !ok {
			return
		}
		for _, r := range s.references {
			if r.from == t {
				obj[r.field] = r.value(v)
			}
		}
		for i := range t.NumField() {
			if fn := udtFieldName(t.Field(i)); fn != "" {
				s.withReferences(v.Field(i), obj[fn])
			}
		}
	}
}

// udtReferences reports whether a column's Go type reaches a UDT with references.
func (s *Schema) udtReferences(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && t != typeBytes && t != typeIP) {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return false
	}
	seen[t] = true
	for _, r := range s.references {
		if r.from == t {
			return true
		}
	}
	for i := range t.NumField() {
		if udtFieldName(t.Field(i)) != "" && s.udtReferences(t.Field(i).Type, seen) {
			return true
		}
	}
	return false
}
