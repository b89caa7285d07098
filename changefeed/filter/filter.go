package filter

import (
	"errors"
	"fmt"
)

// Limits on a filter. Parse refuses input past them before reading further, and
// Bind refuses a built filter past them, with an error matching ErrLimit, so that
// hostile input costs bounded memory, stack and time to parse and to match.
const (
	// MaxBytes is the longest JSON form Parse reads.
	MaxBytes = 64 << 10
	// MaxDepth is the deepest nesting Parse reads (of JSON objects and arrays) and
	// Bind takes (of And, Or and Not).
	MaxDepth = 32
	// MaxValues is the most values one $in or $nin may list.
	MaxValues = 1000
)

// Errors. Every error of the package wraps one of these, or orm.ErrUnknownColumn
// (a column the table does not have) or orm.ErrInvalidValue (a value that does not
// fit its column, given in a filter or in a row), and names the table and the
// column concerned where there is one.
var (
	// ErrSyntax is returned for a filter that is not well formed: by Parse for
	// malformed JSON, an unknown operator or an operator given the wrong kind of
	// JSON value; by Bind for an And or Or of no filters and an $in or $nin of no
	// values.
	ErrSyntax = errors.New("filter: syntax")
	// ErrLimit is returned for a filter past MaxBytes, MaxDepth or MaxValues.
	ErrLimit = errors.New("filter: limit")
	// ErrNotApplicable is returned by Bind for an operator that does not apply to
	// its column's type, such as $lt on a boolean or $eq on a list.
	ErrNotApplicable = errors.New("filter: operator does not apply")
)

// refusal is an error whose message is its own and which matches a sentinel.
type refusal struct {
	msg string
	is  error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.is }

// refuse returns an error that reads as format says and matches sentinel is.
func refuse(is error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), is: is}
}

// Filter is a condition on the values of one row: build it with Eq, In, Exists,
// And, Or, Not and the rest, or parse it from its JSON form with Parse. A Filter
// says nothing about a table until Bind checks it against one, so one Filter may
// be bound to several tables.
//
// The zero Filter is the empty filter, {} in JSON, which every row matches. A
// Filter is immutable and safe for concurrent use; the values given to the
// builders are read when it is bound or marshalled, so do not change a *big.Int,
// *inf.Dec or []byte handed to a builder afterwards.
type Filter struct{ n *node }

// kind is the kind of a node of a filter's tree.
type kind uint8

const (
	kAnd kind = iota + 1
	kOr
	kNot
	kCond
)

// op is the operator of a condition on one column.
type op uint8

const (
	opEq op = iota + 1
	opNe
	opIn
	opNin
	opLt
	opLte
	opGt
	opGte
	opExists
	opContains
	opContainsKey
)

// opNames are the operators' names in the JSON form.
var opNames = [...]string{
	opEq: "$eq", opNe: "$ne", opIn: "$in", opNin: "$nin", opLt: "$lt", opLte: "$lte",
	opGt: "$gt", opGte: "$gte", opExists: "$exists", opContains: "$contains",
	opContainsKey: "$containsKey",
}

func (o op) String() string { return opNames[o] }

// opNamed returns the operator called name in the JSON form.
func opNamed(name string) (op, bool) {
	for o, n := range opNames {
		if n == name && n != "" {
			return op(o), true
		}
	}
	return 0, false
}

// node is one node of a filter's tree; a nil node is the empty filter. A kCond
// node holds its column, operator and values (for opExists, exists instead); kAnd
// and kOr hold their kids, kNot exactly one.
type node struct {
	kind   kind
	kids   []*node
	col    string
	op     op
	vals   []any // Go values from the builders, jsonValues from Parse
	exists bool
}

func cond(column string, o op, vals ...any) Filter {
	return Filter{&node{kind: kCond, col: column, op: o, vals: vals}}
}

// Eq matches rows whose column equals v: {"column": v}, or {"column": {"$eq": v}}.
func Eq(column string, v any) Filter { return cond(column, opEq, v) }

// Ne matches rows whose column does not equal v, including rows where it is null
// or missing: {"column": {"$ne": v}}. It is Not(Eq(column, v)).
func Ne(column string, v any) Filter { return cond(column, opNe, v) }

// In matches rows whose column equals one of vs: {"column": {"$in": [vs...]}}.
func In[V any](column string, vs ...V) Filter { return cond(column, opIn, anys(vs)...) }

// Nin matches rows whose column equals none of vs, including rows where it is null
// or missing: {"column": {"$nin": [vs...]}}. It is Not(In(column, vs...)).
func Nin[V any](column string, vs ...V) Filter { return cond(column, opNin, anys(vs)...) }

// Lt matches rows whose column is less than v: {"column": {"$lt": v}}.
func Lt(column string, v any) Filter { return cond(column, opLt, v) }

// Lte matches rows whose column is at most v: {"column": {"$lte": v}}.
func Lte(column string, v any) Filter { return cond(column, opLte, v) }

// Gt matches rows whose column is greater than v: {"column": {"$gt": v}}.
func Gt(column string, v any) Filter { return cond(column, opGt, v) }

// Gte matches rows whose column is at least v: {"column": {"$gte": v}}.
func Gte(column string, v any) Filter { return cond(column, opGte, v) }

// Exists matches rows whose column holds a value (exists true) or is null or
// missing (exists false): {"column": {"$exists": true}}.
func Exists(column string, exists bool) Filter {
	return Filter{&node{kind: kCond, col: column, op: opExists, exists: exists}}
}

// Contains matches rows whose list or set column holds element v, or whose map
// column holds value v: {"column": {"$contains": v}}, as CQL's CONTAINS.
func Contains(column string, v any) Filter { return cond(column, opContains, v) }

// ContainsKey matches rows whose map column holds key k:
// {"column": {"$containsKey": k}}, as CQL's CONTAINS KEY.
func ContainsKey(column string, k any) Filter { return cond(column, opContainsKey, k) }

// And matches rows that every one of fs matches: {"$and": [fs...]}, or the
// filters' fields side by side in one object when their columns differ. Bind
// refuses an And of no filters.
func And(fs ...Filter) Filter { return Filter{&node{kind: kAnd, kids: nodes(fs)}} }

// Or matches rows that at least one of fs matches: {"$or": [fs...]}. Bind refuses
// an Or of no filters.
func Or(fs ...Filter) Filter { return Filter{&node{kind: kOr, kids: nodes(fs)}} }

// Not matches rows that f does not match: {"column": {"$not": {...}}} when f is on
// one column, {"$not": f} otherwise.
func Not(f Filter) Filter { return Filter{&node{kind: kNot, kids: []*node{f.n}}} }

// String returns the filter's JSON form, or a description of why it has none (a
// builder value with no JSON form, such as NaN).
func (f Filter) String() string {
	b, err := f.MarshalJSON()
	if err != nil {
		return "<filter: " + err.Error() + ">"
	}
	return string(b)
}

func anys[V any](vs []V) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func nodes(fs []Filter) []*node {
	out := make([]*node, len(fs))
	for i, f := range fs {
		out[i] = f.n
	}
	return out
}
