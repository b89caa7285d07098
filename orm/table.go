package orm

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// ColumnKind says where a column sits in the primary key.
type ColumnKind int

// Column kinds.
const (
	Regular ColumnKind = iota
	PartitionKey
	ClusteringKey
	Static
)

// String returns the kind as Cassandra's system_schema names it.
func (k ColumnKind) String() string {
	names := [...]string{"regular", "partition_key", "clustering", "static"}
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("ColumnKind(%d)", int(k))
	}
	return names[k]
}

// Column describes one column of a model's table.
type Column struct {
	// Name is the CQL column name.
	Name string
	// Field is the Go struct field's name.
	Field string
	// Type is the CQL type as text, e.g. "frozen<list<text>>".
	Type string
	// Kind is the column's place in the primary key.
	Kind ColumnKind
	// Descending is true for a clustering column stored in descending order.
	Descending bool
	// Index is the SAI index target ("" for none; "values", "keys", "entries", "full"
	// for collections, "default" otherwise).
	Index string
	// Similarity is the similarity function of a vector column's SAI index:
	// "cosine" (the default), "dot_product" or "euclidean"; "" on other columns.
	Similarity string

	index   []int // field index path in the struct
	goType  reflect.Type
	cql     *cqlType
	unique  string // unique constraint group, "" for none
	rules   []rule
	nilable bool // pointer, slice or map: nil means "not set"

	info gocql.TypeInfo // the driver's description of cql, which binds values
}

// IndexName returns the name of the column's SAI index.
func (c *Column) IndexName(table string) string { return table + "_" + c.Name + "_idx" }

// TableOptions are the table properties a model may set.
type TableOptions struct {
	// DefaultTTL expires every row this long after it was written, unless a statement
	// sets its own TTL. Whole seconds.
	DefaultTTL time.Duration
	// Comment is the table's comment.
	Comment string
	// GCGrace is gc_grace_seconds; zero keeps Cassandra's default (10 days).
	GCGrace time.Duration
	// Compaction is the compaction strategy class, such as
	// "UnifiedCompactionStrategy" or "TimeWindowCompactionStrategy"; empty keeps the
	// default. CompactionOptions are the class's sub-options.
	Compaction        string
	CompactionOptions map[string]string
}

// Table describes a model's table: its name, columns and keys. Get it from
// Model.Table; it is read-only.
type Table struct {
	// Keyspace is the table's keyspace; empty means the DB's keyspace.
	Keyspace string
	// Name is the table name.
	Name string
	// Columns are all columns, in struct field order.
	Columns []*Column
	// PartitionKey and Clustering list the primary key columns in key order.
	PartitionKey []*Column
	Clustering   []*Column
	// Options are the table properties.
	Options TableOptions
	// Counter is true for a counter table.
	Counter bool
	// Uniques lists the unique constraints, each a list of column names.
	Uniques []UniqueConstraint
	// SoftDelete is the column tagged orm:"softdelete", or nil. On such a model
	// Delete sets it to the current time instead of removing the row, and reads skip
	// rows where it is set.
	SoftDelete *Column
	// Tenant is the tenant column of a tenant-scoped model on a tenanted DB (see
	// DB.WithTenancy), or nil. It leads the partition key in the database, before
	// PartitionKey, and is in neither Columns nor PartitionKey: no struct field holds
	// it, and the ORM alone sets and restricts it, from the context's tenant.
	Tenant *Column
	// ChangeMark is the hidden mark column (ChangeMarkColumn) of a model that
	// records its changes (RecordChanges), or nil. Like Tenant it is in no struct
	// field and not in Columns.
	ChangeMark *Column

	scope  Scope // on a tenanted DB
	byName map[string]*Column
	udts   []*udtInfo
	goType reflect.Type
	pk     []*Column // partition then clustering columns
}

// UniqueConstraint is a set of columns whose combined value no two rows may share.
type UniqueConstraint struct {
	// Name is the constraint's name (its group in the tag, or the column name).
	Name string
	// Columns are the constrained columns, in field order.
	Columns []*Column
	// LookupTable is the table that holds one row per taken value.
	LookupTable string
}

// Scope returns how the table is shared among tenants (see Scope); on a DB without
// tenancy every table is GlobalScope.
func (t *Table) Scope() Scope {
	if t.scope == TenantScope && t.Tenant == nil {
		return GlobalScope
	}
	return t.scope
}

// addTenantColumn gives a tenant-scoped table its tenant column, called name.
func (t *Table) addTenantColumn(name string) error {
	if t.byName[name] != nil {
		return fmt.Errorf("%w: %s: field column %s is the tenant column's name: rename the field, or set Tenancy.Column", ErrInvalidModel, t.Name, name)
	}
	for _, u := range t.Uniques {
		if u.lookupTable(t).byName[name] != nil {
			return fmt.Errorf("%w: %s: the tenant column's name %s is a column of unique lookup table %s: set Tenancy.Column", ErrInvalidModel, t.Name, name, u.LookupTable)
		}
	}
	c := &Column{Name: name, Type: "text", Kind: PartitionKey, cql: &cqlType{name: "text"}, goType: reflect.TypeFor[string]()}
	c.info = driverType(c.cql)
	t.Tenant = c
	return nil
}

// Column returns the column called name, or nil.
func (t *Table) Column(name string) *Column { return t.byName[name] }

// primaryKey returns partition and clustering columns, in key order. Callers must
// not change the slice.
func (t *Table) primaryKey() []*Column { return t.pk }

// column returns the column called name or an error naming the table and the column.
func (t *Table) column(name string) (*Column, error) {
	c := t.byName[name]
	if c == nil {
		return nil, fmt.Errorf("%w: %q in table %s (columns: %s)", ErrUnknownColumn, name, t.Name, t.columnList())
	}
	return c, nil
}

func (t *Table) columnList() string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// TableNamer lets a model choose its table name. Without it the name is the struct's
// name in snake_case.
type TableNamer interface {
	TableName() string
}

// parseTable builds a Table from struct type rt. Tags:
//
//	cql:"name"      column name (default: the field name in snake_case); "-" skips the field
//	orm:"pk"        partition key column (in field order)
//	orm:"ck"        clustering column, ascending; "ck=desc" for descending
//	orm:"static"    static column
//	orm:"index"     SAI index; on collections "index=keys|values|entries|full"
//	orm:"similarity=cosine|dot_product|euclidean" the similarity function of a vector
//	                column's index (default cosine)
//	orm:"unique"    unique value; "unique=group" makes one constraint of several fields
//	orm:"softdelete" on a time.Time or *time.Time: Delete marks rows instead of removing them
//	orm:"set", "frozen", "ascii", "timeuuid", "date", "time", "tuple", "vector=N": the CQL type
//	validate:"..."  validation rules, see Validate
func parseTable(rt reflect.Type, name string) (*Table, error) {
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s is not a struct", ErrInvalidModel, rt)
	}
	if name == "" {
		name = snake(rt.Name())
		if n, ok := reflect.New(rt).Interface().(TableNamer); ok {
			name = n.TableName()
		}
	}
	if err := CheckIdent("table", name); err != nil {
		return nil, err
	}
	t := &Table{Name: name, byName: map[string]*Column{}, goType: rt}
	m := newTypeMapper()
	uniq := map[string]*UniqueConstraint{}
	var uniqOrder []string
	var walk func(rt reflect.Type, prefix []int) error
	walk = func(rt reflect.Type, prefix []int) error {
		for i := range rt.NumField() {
			f := rt.Field(i)
			idx := append(slices.Clone(prefix), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("cql") == "" {
				if err := walk(f.Type, idx); err != nil {
					return err
				}
				continue
			}
			if !f.IsExported() || f.Tag.Get("cql") == "-" {
				continue
			}
			col, err := parseColumn(m, t, f, idx)
			if err != nil {
				return err
			}
			if t.byName[col.Name] != nil {
				return fmt.Errorf("%w: %s: two fields map to column %q", ErrInvalidModel, rt, col.Name)
			}
			t.byName[col.Name] = col
			t.Columns = append(t.Columns, col)
			switch col.Kind {
			case PartitionKey:
				t.PartitionKey = append(t.PartitionKey, col)
			case ClusteringKey:
				t.Clustering = append(t.Clustering, col)
			}
			if col.unique != "" {
				u := uniq[col.unique]
				if u == nil {
					u = &UniqueConstraint{Name: col.unique, LookupTable: name + "_by_" + col.unique}
					uniq[col.unique] = u
					uniqOrder = append(uniqOrder, col.unique)
				}
				u.Columns = append(u.Columns, col)
			}
		}
		return nil
	}
	if err := walk(rt, nil); err != nil {
		return nil, err
	}
	if len(t.PartitionKey) == 0 {
		return nil, fmt.Errorf(`%w: %s (table %s) has no partition key: tag a field orm:"pk"`, ErrInvalidModel, rt, name)
	}
	t.udts = m.udts
	t.pk = slices.Concat(t.PartitionKey, t.Clustering)
	if err := t.checkCounter(); err != nil {
		return nil, err
	}
	for _, n := range uniqOrder {
		u := uniq[n]
		if err := CheckIdent("unique lookup table", u.LookupTable); err != nil {
			return nil, fmt.Errorf("unique constraint %s on %s: %w", u.Name, name, err)
		}
		t.Uniques = append(t.Uniques, *u)
	}
	return t, nil
}

func parseColumn(m *typeMapper, t *Table, f reflect.StructField, idx []int) (*Column, error) {
	name := f.Tag.Get("cql")
	if name == "" {
		name = snake(f.Name)
	}
	if err := CheckIdent("column", name); err != nil {
		return nil, fmt.Errorf("field %s: %w", f.Name, err)
	}
	col := &Column{Name: name, Field: f.Name, index: idx, goType: f.Type}
	where := t.goType.String() + "." + f.Name
	tag := f.Tag.Get("orm")
	for opt := range strings.SplitSeq(tag, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		switch k {
		case "":
		case "pk":
			col.Kind = PartitionKey
		case "ck":
			col.Kind = ClusteringKey
			switch v {
			case "", "asc":
			case "desc":
				col.Descending = true
			default:
				return nil, fmt.Errorf("%w: %s: ck=%q: want asc or desc", ErrInvalidModel, where, v)
			}
		case "static":
			col.Kind = Static
		case "index":
			col.Index = "default"
			if v != "" {
				if !slices.Contains([]string{"keys", "values", "entries", "full"}, v) {
					return nil, fmt.Errorf("%w: %s: index=%q: want keys, values, entries or full", ErrInvalidModel, where, v)
				}
				col.Index = v
			}
		case "similarity":
			if v != "cosine" && v != "dot_product" && v != "euclidean" {
				return nil, fmt.Errorf("%w: %s: similarity=%q: want cosine, dot_product or euclidean", ErrInvalidModel, where, v)
			}
			col.Similarity = v
		case "unique":
			col.unique = name
			if v != "" {
				col.unique = v
			}
		case "softdelete":
			if t.SoftDelete != nil {
				return nil, fmt.Errorf("%w: %s: two softdelete fields", ErrInvalidModel, where)
			}
			if f.Type != typeTime && f.Type != reflect.PointerTo(typeTime) {
				return nil, fmt.Errorf("%w: %s: a softdelete field is a time.Time or *time.Time", ErrInvalidModel, where)
			}
			t.SoftDelete = col
		case "ascii", "timeuuid", "date", "time", "set", "frozen", "tuple", "vector":
			// Type options, read by parseTypeOpts.
		default:
			return nil, fmt.Errorf("%w: %s: unknown orm tag option %q", ErrInvalidModel, where, k)
		}
	}
	opts, err := parseTypeOpts(tag)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, where, err)
	}
	col.cql, err = m.mapType(f.Type, opts, false, where)
	if err != nil {
		return nil, err
	}
	col.Type = col.cql.String()
	col.info = driverType(col.cql)
	if col.Kind != Regular && col.Kind != Static && col.cql.isCollection() {
		return nil, fmt.Errorf(`%w: %s: a primary key column cannot be a non-frozen collection: tag it orm:"frozen"`, ErrInvalidModel, where)
	}
	if col.Kind != Regular && col.unique != "" {
		return nil, fmt.Errorf("%w: %s: a primary key column is unique already; drop the unique option", ErrInvalidModel, where)
	}
	if col.cql.name == "tuple" && f.Type.Kind() == reflect.Pointer {
		return nil, fmt.Errorf("%w: %s: a tuple column is a struct value, not a pointer", ErrInvalidModel, where)
	}
	if err := checkIndexTarget(col); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, where, err)
	}
	switch f.Type.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		col.nilable = true
	}
	col.rules, err = parseRules(f.Tag.Get("validate"), where)
	if err != nil {
		return nil, err
	}
	return col, nil
}

// checkIndexTarget checks an index target against the column's type, and resolves
// the default target of a collection: values of a collection, the whole of a frozen
// one.
func checkIndexTarget(c *Column) error {
	if c.Similarity != "" && (c.cql.name != "vector" || c.Index == "") {
		return fmt.Errorf(`similarity applies to an indexed vector column (orm:"index,similarity=..."); %s is %s`, c.Name, c.Type)
	}
	if c.Index == "" {
		return nil
	}
	if c.cql.name == "vector" && c.Similarity == "" {
		c.Similarity = "cosine"
	}
	coll := c.cql.name == "list" || c.cql.name == "set" || c.cql.name == "map"
	switch {
	case c.cql.name == "counter":
		return fmt.Errorf("counters cannot be indexed")
	case c.Index == "default" && coll && c.cql.frozen:
		c.Index = "full"
	case c.Index == "default":
	case !coll:
		return fmt.Errorf("index=%s applies to collections; %s is %s", c.Index, c.Name, c.Type)
	case c.Index == "full" && !c.cql.frozen:
		return fmt.Errorf("index=full applies to frozen collections")
	case c.Index != "full" && c.cql.frozen:
		return fmt.Errorf("a frozen collection is indexed whole: use index=full")
	case (c.Index == "keys" || c.Index == "entries") && c.cql.name != "map":
		return fmt.Errorf("index=%s applies to maps; %s is %s", c.Index, c.Name, c.Type)
	}
	return nil
}

func (t *Table) checkCounter() error {
	counters := 0
	for _, c := range t.Columns {
		if c.cql.name == "counter" {
			counters++
			if c.Kind != Regular {
				return fmt.Errorf("%w: table %s: counter column %s cannot be a key or static", ErrInvalidModel, t.Name, c.Name)
			}
		}
	}
	if counters == 0 {
		return nil
	}
	if regular := len(t.Columns) - len(t.PartitionKey) - len(t.Clustering); counters != regular {
		return fmt.Errorf("%w: table %s: a counter table holds only counters besides its key", ErrInvalidModel, t.Name)
	}
	t.Counter = true
	return nil
}
