package analyze

import (
	"strings"
)

// Statement is a parsed CQL statement: *Select, *Insert, *Update, *Delete, *Batch,
// *CreateTable or *CreateIndex.
type Statement interface {
	// Kind is the statement's kind in upper case: SELECT, INSERT, UPDATE, DELETE,
	// BATCH, CREATE TABLE, CREATE INDEX.
	Kind() string
	// Text is the statement's source text.
	Text() string
}

// Name is a table name, optionally qualified by its keyspace. Unquoted names are
// lower-cased as Cassandra does; quoted names keep their case.
type Name struct {
	// Keyspace is empty for an unqualified name.
	Keyspace string
	// Table is the table's name.
	Table string
}

// String is the name as CQL, quoted where needed.
func (n Name) String() string {
	if n.Keyspace == "" {
		return QuoteIdent(n.Table)
	}
	return QuoteIdent(n.Keyspace) + "." + QuoteIdent(n.Table)
}

// TermKind is the kind of a Term.
type TermKind int

// The kinds of terms.
const (
	TermString   TermKind = iota // 'text' or $$text$$
	TermNumber                   // 42, -1.5e3, NaN, Infinity
	TermUUID                     // 123e4567-e89b-12d3-a456-426614174000
	TermBlob                     // 0xcafe
	TermBool                     // true, false
	TermNull                     // null
	TermDuration                 // 1h30m
	TermMarker                   // ?
	TermNamed                    // :name (Text is the name)
	TermList                     // [a, b] (also a vector literal)
	TermSet                      // {a, b}
	TermMap                      // {k: v, ...}: Items alternate keys and values; {} is an empty map
	TermTuple                    // (a, b)
	TermFunc                     // f(args): Text is the function's name, lower-cased
	TermColumn                   // a column name (in selectors and SET c = c + ?)
	TermBinary                   // Items[0] Op Items[1]
	TermStar                     // * in COUNT(*)
	TermCast                     // CAST(Items[0] AS Text)
)

// Term is a value or expression in a statement.
type Term struct {
	// Kind is what the term is.
	Kind TermKind
	// Text is a literal's text (a string unescaped), a marker's name, a function's
	// or column's name, or a cast's type.
	Text string
	// Op is + or - for a TermBinary.
	Op string
	// Items are a collection's elements, a function's arguments, or a binary's operands.
	Items []Term
}

// IsMarker reports whether t is a bind marker (positional or named).
func (t Term) IsMarker() bool { return t.Kind == TermMarker || t.Kind == TermNamed }

// IsLiteral reports whether t is a constant: no bind marker, column or function in it.
func (t Term) IsLiteral() bool {
	switch t.Kind {
	case TermMarker, TermNamed, TermColumn, TermFunc, TermStar, TermCast, TermBinary:
		return false
	}
	for _, it := range t.Items {
		if !it.IsLiteral() {
			return false
		}
	}
	return true
}

// calls reports whether t calls one of the functions names (lower case) anywhere.
func (t Term) calls(names ...string) bool {
	if t.Kind == TermFunc {
		for _, n := range names {
			if t.Text == n {
				return true
			}
		}
	}
	for _, it := range t.Items {
		if it.calls(names...) {
			return true
		}
	}
	return false
}

// Selector is one item of a SELECT's column list.
type Selector struct {
	// Expr is the selected column or expression.
	Expr Term
	// Alias is the name given with AS, if any.
	Alias string
}

// Relation is one restriction of a WHERE clause or one condition of an IF clause.
type Relation struct {
	// Columns is the restricted column, or the columns of a tuple relation
	// (c1, c2) > (?, ?) or of token(a, b).
	Columns []string
	// Token is true for token(...) op term.
	Token bool
	// Tuple is true for a multi-column relation (c1, c2) op ....
	Tuple bool
	// Key is the element key of m[key] = v or the field of c.field = v.
	Key *Term
	// Field is the UDT field of c.field = v.
	Field string
	// Op is =, <, <=, >, >=, !=, IN, CONTAINS, CONTAINS KEY, LIKE or IS NOT NULL.
	Op string
	// Values holds the right-hand side: one term, or an IN list's items. An IN ?
	// has one marker term and InMarker set.
	Values []Term
	// InMarker is true for IN ? (the whole list bound at once).
	InMarker bool
	// Line and Column locate the relation's first token.
	Line, Column int
}

// Ordering is one item of ORDER BY.
type Ordering struct {
	// Column is the ordered column.
	Column string
	// Desc is true for DESC.
	Desc bool
	// ANN is the vector of ORDER BY c ANN OF vector (a literal or a marker); nil otherwise.
	ANN *Term
}

// Select is a parsed SELECT.
type Select struct {
	text string
	// Table is the table read.
	Table Name
	// Distinct and JSON are SELECT DISTINCT and SELECT JSON.
	Distinct, JSON bool
	// Star is SELECT *; otherwise Selectors are the selected items.
	Star      bool
	Selectors []Selector
	// Where are the WHERE clause's relations, joined by AND.
	Where []Relation
	// GroupBy are the GROUP BY columns.
	GroupBy []string
	// OrderBy are the ORDER BY items (one with ANN set for a vector search).
	OrderBy []Ordering
	// PerPartition and Limit are PER PARTITION LIMIT and LIMIT, nil when absent.
	PerPartition, Limit *Term
	// AllowFiltering is ALLOW FILTERING.
	AllowFiltering bool
}

// Using holds USING TTL / TIMESTAMP.
type Using struct {
	// TTL and Timestamp are nil when not given.
	TTL, Timestamp *Term
}

// Insert is a parsed INSERT.
type Insert struct {
	text string
	// Table is the table written.
	Table Name
	// Columns and Values are the (columns) VALUES (values) lists, in order.
	Columns []string
	Values  []Term
	// JSON is the value of INSERT ... JSON value; nil otherwise.
	JSON *Term
	// IfNotExists is IF NOT EXISTS (a lightweight transaction).
	IfNotExists bool
	// Using is USING TTL / TIMESTAMP.
	Using Using
}

// AssignOp is the kind of a SET assignment.
type AssignOp int

// The kinds of assignments.
const (
	AssignSet     AssignOp = iota // c = v, c[k] = v, c.f = v
	AssignAdd                     // c = c + v, c += v (counter increment, list append, set/map add)
	AssignPrepend                 // c = v + c (list prepend)
	AssignRemove                  // c = c - v, c -= v
)

// Assignment is one item of UPDATE ... SET.
type Assignment struct {
	// Column is the assigned column.
	Column string
	// Key is the element key of c[k] = v.
	Key *Term
	// Field is the UDT field of c.f = v.
	Field string
	// Op is the kind of assignment.
	Op AssignOp
	// Value is the assigned (added, removed) value, without the column itself.
	Value Term
}

// Update is a parsed UPDATE.
type Update struct {
	text string
	// Table is the table written.
	Table Name
	// Using is USING TTL / TIMESTAMP.
	Using Using
	// Set are the SET assignments.
	Set []Assignment
	// Where are the WHERE relations; If the IF conditions; IfExists is IF EXISTS.
	Where, If []Relation
	IfExists  bool
}

// DeleteTarget is one column (or element, or field) a DELETE removes.
type DeleteTarget struct {
	// Column is the deleted column.
	Column string
	// Key is the element key of DELETE c[k]; Field the field of DELETE c.f.
	Key   *Term
	Field string
}

// Delete is a parsed DELETE.
type Delete struct {
	text string
	// Table is the table written.
	Table Name
	// Targets are the deleted columns; none deletes rows.
	Targets []DeleteTarget
	// Using is USING TIMESTAMP.
	Using Using
	// Where are the WHERE relations; If the IF conditions; IfExists is IF EXISTS.
	Where, If []Relation
	IfExists  bool
}

// Batch is a parsed BEGIN ... BATCH ... APPLY BATCH.
type Batch struct {
	text string
	// Type is LOGGED, UNLOGGED or COUNTER.
	Type string
	// Using is USING TIMESTAMP of the whole batch.
	Using Using
	// Statements are the batch's INSERT, UPDATE and DELETE statements.
	Statements []Statement
}

// ColumnDef is a column of a CREATE TABLE.
type ColumnDef struct {
	// Name and Type are the column's; Type as system_schema writes it.
	Name, Type string
	// Static is true for a STATIC column.
	Static bool
}

// CreateTable is a parsed CREATE TABLE.
type CreateTable struct {
	text string
	// Table is the table created.
	Table Name
	// IfNotExists is IF NOT EXISTS.
	IfNotExists bool
	// Columns are the column definitions in order.
	Columns []ColumnDef
	// PartitionKey and Clustering are the primary key's columns in order.
	PartitionKey, Clustering []string
	// Descending names the clustering columns in DESC order.
	Descending map[string]bool
}

// CreateIndex is a parsed CREATE [CUSTOM] INDEX.
type CreateIndex struct {
	text string
	// Name is the index's name (table_column_idx when not given, as Cassandra names it).
	Name string
	// IfNotExists is IF NOT EXISTS.
	IfNotExists bool
	// Table and Column are what is indexed.
	Table  Name
	Column string
	// Target is how the column is indexed: "" (values), keys, values, entries, full.
	Target string
	// Using is the index class ('sai', 'StorageAttachedIndex' or a class name); empty
	// for a legacy secondary index.
	Using string
	// Options are WITH OPTIONS, keys lower-cased (similarity_function, ...).
	Options map[string]string
}

// Kind is the statement's kind.
func (s *Select) Kind() string { return "SELECT" }

// Kind is the statement's kind.
func (s *Insert) Kind() string { return "INSERT" }

// Kind is the statement's kind.
func (s *Update) Kind() string { return "UPDATE" }

// Kind is the statement's kind.
func (s *Delete) Kind() string { return "DELETE" }

// Kind is the statement's kind.
func (s *Batch) Kind() string { return "BATCH" }

// Kind is the statement's kind.
func (s *CreateTable) Kind() string { return "CREATE TABLE" }

// Kind is the statement's kind.
func (s *CreateIndex) Kind() string { return "CREATE INDEX" }

// Text is the statement's source text.
func (s *Select) Text() string { return s.text }

// Text is the statement's source text.
func (s *Insert) Text() string { return s.text }

// Text is the statement's source text.
func (s *Update) Text() string { return s.text }

// Text is the statement's source text.
func (s *Delete) Text() string { return s.text }

// Text is the statement's source text.
func (s *Batch) Text() string { return s.text }

// Text is the statement's source text.
func (s *CreateTable) Text() string { return s.text }

// Text is the statement's source text.
func (s *CreateIndex) Text() string { return s.text }

// QuoteIdent returns name as a CQL identifier: as is when it is a lower-case unquoted
// name that is not a reserved keyword, in double quotes otherwise.
func QuoteIdent(name string) string {
	plain := name != "" && isIdentStart(name[0]) && !reserved[strings.ToLower(name)]
	for i := 0; plain && i < len(name); i++ {
		c := name[i]
		plain = isIdentPart(c) && !(c >= 'A' && c <= 'Z')
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// reserved are CQL's reserved keywords (Cassandra 5.0), which a column name must quote.
var reserved = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`add allow alter and apply asc authorize batch begin by columnfamily create
		default delete desc describe drop entries execute from full grant if in index infinity insert into is
		keyspace limit mbean mbeans modify nan norecursive not null of on or order primary rename replace revoke
		schema select set table to token truncate unlogged unset update use using view where with`) {
		m[k] = true
	}
	return m
}()
