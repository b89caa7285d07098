package orm

import "reflect"

// Predicate restricts a query (WHERE) or conditions a lightweight transaction (IF).
// Build one with Eq, In, Gt, Gte, Lt, Lte, Contains or ContainsKey; the column name is
// checked against the model when the statement is built, and the values are bound.
type Predicate struct {
	col  string
	op   string
	vals []any
}

// Column returns the predicate's column name.
func (p Predicate) Column() string { return p.col }

// Op returns the predicate's CQL operator: =, IN, >, >=, <, <=, CONTAINS, CONTAINS KEY.
func (p Predicate) Op() string { return p.op }

// Eq is column = v.
func Eq(column string, v any) Predicate { return Predicate{column, "=", []any{v}} }

// In is column IN (vs...). A single slice argument (other than []byte) is taken as
// the list of values: In("id", ids) is In("id", ids[0], ids[1], ...).
func In(column string, vs ...any) Predicate {
	if len(vs) == 1 {
		if rv := reflect.ValueOf(vs[0]); rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
			vs = make([]any, rv.Len())
			for i := range vs {
				vs[i] = rv.Index(i).Interface()
			}
		}
	}
	return Predicate{column, "IN", vs}
}

// Gt is column > v.
func Gt(column string, v any) Predicate { return Predicate{column, ">", []any{v}} }

// Gte is column >= v.
func Gte(column string, v any) Predicate { return Predicate{column, ">=", []any{v}} }

// Lt is column < v.
func Lt(column string, v any) Predicate { return Predicate{column, "<", []any{v}} }

// Lte is column <= v.
func Lte(column string, v any) Predicate { return Predicate{column, "<=", []any{v}} }

// Ne is column != v; Cassandra accepts it only in lightweight transaction conditions.
func Ne(column string, v any) Predicate { return Predicate{column, "!=", []any{v}} }

// Contains is column CONTAINS v, for a list, set or map (its values) column.
func Contains(column string, v any) Predicate { return Predicate{column, "CONTAINS", []any{v}} }

// ContainsKey is column CONTAINS KEY k, for a map column.
func ContainsKey(column string, k any) Predicate { return Predicate{column, "CONTAINS KEY", []any{k}} }

func (p Predicate) isRange() bool {
	return p.op == ">" || p.op == ">=" || p.op == "<" || p.op == "<="
}
