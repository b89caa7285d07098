package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ColumnKind is a column's place in its table, as system_schema.columns names it.
type ColumnKind string

// The kinds of columns.
const (
	PartitionKey ColumnKind = "partition_key"
	Clustering   ColumnKind = "clustering"
	Regular      ColumnKind = "regular"
	Static       ColumnKind = "static"
)

// Column is a column of a table.
type Column struct {
	Name string `json:"name"`
	// Type is the CQL type as system_schema writes it: text, frozen<list<int>>,
	// vector<float, 384>.
	Type string     `json:"type"`
	Kind ColumnKind `json:"kind"`
	// Position is the column's place in the partition key or clustering key (from 0).
	Position int `json:"position"`
	// Descending is true for a clustering column stored in DESC order.
	Descending bool `json:"descending,omitempty"`
}

// Index is a secondary index of a table.
type Index struct {
	Name   string `json:"name"`
	Column string `json:"column"`
	// Target is how a collection is indexed: "" or values, keys, entries, full.
	Target string `json:"target,omitempty"`
	// SAI is true for a Storage-Attached Index (class StorageAttachedIndex).
	SAI bool `json:"sai"`
	// Class is the index class; empty for a legacy secondary index.
	Class string `json:"class,omitempty"`
	// Similarity is a vector index's similarity_function (cosine when not set).
	Similarity string `json:"similarity,omitempty"`
}

// Table is a table's columns and indexes.
type Table struct {
	Keyspace string `json:"keyspace"`
	Name     string `json:"name"`
	// Columns are in primary key order, then static and regular columns by name.
	Columns []Column `json:"columns"`
	Indexes []Index  `json:"indexes,omitempty"`
}

// Column returns the column called name.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Keys returns the columns of kind k in key order.
func (t *Table) Keys(k ColumnKind) []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

// IsCounter reports whether the table has counter columns.
func (t *Table) IsCounter() bool {
	for _, c := range t.Columns {
		if c.Type == "counter" {
			return true
		}
	}
	return false
}

// indexOn returns an index on column col with one of the targets (any target when
// none is given), SAI ones first.
func (t *Table) indexOn(col string, targets ...string) (Index, bool) {
	best, found := Index{}, false
	for _, ix := range t.Indexes {
		if ix.Column != col || len(targets) > 0 && !slices.Contains(targets, ix.Target) {
			continue
		}
		if !found || ix.SAI && !best.SAI {
			best, found = ix, true
		}
	}
	return best, found
}

func (t *Table) sortColumns() {
	rank := map[ColumnKind]int{PartitionKey: 0, Clustering: 1, Static: 2, Regular: 3}
	slices.SortStableFunc(t.Columns, func(a, b Column) int {
		if c := cmp.Compare(rank[a.Kind], rank[b.Kind]); c != 0 {
			return c
		}
		if a.Kind == PartitionKey || a.Kind == Clustering {
			return cmp.Compare(a.Position, b.Position)
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// QualifiedName is keyspace.table, quoted where needed.
func (t *Table) QualifiedName() string { return Name{Keyspace: t.Keyspace, Table: t.Name}.String() }

// Schema is the tables of one keyspace (statements may name tables of other keyspaces
// only when the schema holds them).
type Schema struct {
	// Keyspace is the keyspace unqualified table names are in.
	Keyspace string `json:"keyspace"`
	// Tables by keyspace.table.
	Tables map[string]*Table `json:"tables"`
	// Stats by keyspace.table, for tables whose statistics were read (LoadStats).
	Stats map[string]*TableStats `json:"stats,omitempty"`
}

func key(ks, table string) string { return ks + "." + table }

// Table returns the table n names; an unqualified name is in s.Keyspace.
func (s *Schema) Table(n Name) (*Table, bool) {
	ks := n.Keyspace
	if ks == "" {
		ks = s.Keyspace
	}
	t, ok := s.Tables[key(ks, n.Table)]
	return t, ok
}

// Add puts t in the schema, replacing a table of the same name.
func (s *Schema) Add(t *Table) {
	if s.Tables == nil {
		s.Tables = map[string]*Table{}
	}
	t.sortColumns()
	s.Tables[key(t.Keyspace, t.Name)] = t
}

// SchemaFromCQL builds a schema, with no statistics, from a script of CREATE TABLE
// and CREATE INDEX statements (separated by ;), for analysis without a live node.
// Unqualified names are in keyspace.
func SchemaFromCQL(keyspace, script string) (*Schema, error) {
	stmts, err := ParseScript(script)
	if err != nil {
		return nil, fmt.Errorf("analyze: schema script: %w", err)
	}
	s := &Schema{Keyspace: keyspace, Tables: map[string]*Table{}}
	for _, st := range stmts {
		switch st := st.(type) {
		case *CreateTable:
			t, err := tableFromDDL(keyspace, st)
			if err != nil {
				return nil, err
			}
			s.Add(t)
		case *CreateIndex:
			t, ok := s.Table(st.Table)
			if !ok {
				return nil, fmt.Errorf("analyze: schema script: index %s is on table %s, not created before it", st.Name, st.Table)
			}
			if _, ok := t.Column(st.Column); !ok {
				return nil, fmt.Errorf("analyze: schema script: index %s is on column %s, which table %s does not have", st.Name, st.Column, st.Table)
			}
			t.Indexes = append(t.Indexes, indexFromDDL(st))
		default:
			return nil, fmt.Errorf("analyze: schema script: %s statement where CREATE TABLE or CREATE INDEX was expected", st.Kind())
		}
	}
	return s, nil
}

func tableFromDDL(keyspace string, ct *CreateTable) (*Table, error) {
	ks := ct.Table.Keyspace
	if ks == "" {
		ks = keyspace
	}
	t := &Table{Keyspace: ks, Name: ct.Table.Table}
	pos := map[string]int{}
	kinds := map[string]ColumnKind{}
	for i, c := range ct.PartitionKey {
		pos[c], kinds[c] = i, PartitionKey
	}
	for i, c := range ct.Clustering {
		pos[c], kinds[c] = i, Clustering
	}
	for _, cd := range ct.Columns {
		c := Column{Name: cd.Name, Type: cd.Type, Kind: Regular, Position: -1}
		if k, ok := kinds[cd.Name]; ok {
			c.Kind, c.Position = k, pos[cd.Name]
			delete(kinds, cd.Name)
		} else if cd.Static {
			c.Kind = Static
		}
		c.Descending = c.Kind == Clustering && ct.Descending[cd.Name]
		t.Columns = append(t.Columns, c)
	}
	for name := range kinds {
		return nil, fmt.Errorf("analyze: table %s: key column %s is not defined", ct.Table, name)
	}
	return t, nil
}

func indexFromDDL(ci *CreateIndex) Index {
	class := ci.Using
	sai := strings.EqualFold(class, "sai") || strings.HasSuffix(strings.ToLower(class), "storageattachedindex")
	ix := Index{Name: ci.Name, Column: ci.Column, Target: ci.Target, SAI: sai, Class: class}
	if ix.Target == "values" {
		ix.Target = ""
	}
	if sai {
		ix.Similarity = ci.Options["similarity_function"]
	}
	return ix
}

// isVector reports whether typ is a vector type.
func isVector(typ string) bool { return strings.HasPrefix(typ, "vector<") }

// collectionKind returns list, set or map for a (possibly frozen) collection type.
func collectionKind(typ string) string {
	typ = strings.TrimPrefix(typ, "frozen<")
	for _, k := range []string{"list", "set", "map"} {
		if strings.HasPrefix(typ, k+"<") {
			return k
		}
	}
	return ""
}
