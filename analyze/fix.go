package analyze

import (
	"fmt"
	"slices"
	"strings"
)

// indexName is a valid index name for an SAI index on table.column: lower-case
// letters, digits and underscores, at most 48 characters.
func indexName(table, column string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(table + "_" + column + "_sai") {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	n := b.String()
	if len(n) > 48 {
		n = n[:48]
	}
	if n == "" || !isIdentStart(n[0]) {
		n = "i" + n
	}
	return n
}

// indexDDL is the CREATE INDEX ... USING 'sai' for column of t; target is keys,
// entries, full or "" (values).
func indexDDL(t *Table, column, target string, vector bool) string {
	on := QuoteIdent(column)
	if target != "" {
		on = target + "(" + on + ")"
	}
	ddl := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON %s (%s) USING 'sai'`, indexName(t.Name, column), t.QualifiedName(), on)
	if vector {
		ddl += ` WITH OPTIONS = {'similarity_function': 'cosine'}`
	}
	return ddl
}

// targetFor is the index target that answers rel.
func targetFor(t *Table, rel Relation) string {
	switch {
	case rel.Op == "CONTAINS KEY":
		return "keys"
	case rel.Key != nil:
		return "entries"
	case rel.Op == "=":
		if c, _ := t.Column(rel.Columns[0]); collectionKind(c.Type) != "" && strings.HasPrefix(c.Type, "frozen<") {
			return "full"
		}
	}
	return ""
}

// filterFix proposes an SAI index for each filtered column an index can answer, and
// a query table keyed by the restricted columns.
func (a *Analyzer) filterFix(t *Table, where, filtered []Relation) *Fix {
	fix := &Fix{}
	var indexable []string
	for _, rel := range filtered {
		if rel.Tuple || rel.Token || rel.Field != "" || rel.Op == "IN" || rel.Op == "!=" {
			continue
		}
		c, _ := t.Column(rel.Columns[0])
		if isSlice(rel.Op) && !saiRange(c.Type) {
			continue
		}
		if c.Kind == PartitionKey && len(t.Keys(PartitionKey)) == 1 {
			continue
		}
		d := indexDDL(t, c.Name, targetFor(t, rel), false)
		if !slices.Contains(fix.DDL, d) {
			fix.DDL = append(fix.DDL, d)
			indexable = append(indexable, c.Name)
		}
	}
	qt := a.queryTableFix(t, where, nil)
	switch {
	case len(indexable) > 0 && qt != nil:
		fix.Summary = fmt.Sprintf("index %s with SAI and drop ALLOW FILTERING; or, for a hot query, keep a query table keyed by the restricted columns", strings.Join(indexable, ", "))
		fix.DDL = append(fix.DDL, qt.DDL...)
	case len(indexable) > 0:
		fix.Summary = fmt.Sprintf("index %s with SAI and drop ALLOW FILTERING", strings.Join(indexable, ", "))
	case qt != nil:
		fix.Summary = "keep a query table keyed by the restricted columns (an index cannot answer these restrictions)"
		fix.DDL = qt.DDL
	default:
		fix.Summary = "restrict the partition key"
	}
	return fix
}

// queryTableFix proposes a table keyed for the access: the columns restricted by =,
// IN or CONTAINS as partition key, those restricted by a range (then ordered on) as
// the first clustering columns, then the rest of t's primary key, and every other
// column. Nil when no column can key it.
func (a *Analyzer) queryTableFix(t *Table, where []Relation, orderBy []string) *Fix {
	var part, clus []string
	for _, rel := range where {
		if rel.Token || rel.Tuple || rel.Key != nil || rel.Field != "" {
			continue
		}
		c, ok := t.Column(rel.Columns[0])
		if !ok || collectionKind(c.Type) != "" && !strings.HasPrefix(c.Type, "frozen<") || isVector(c.Type) {
			continue
		}
		if isSlice(rel.Op) {
			if !slices.Contains(clus, c.Name) {
				clus = append(clus, c.Name)
			}
		} else if !slices.Contains(part, c.Name) {
			part = append(part, c.Name)
		}
	}
	for _, o := range orderBy {
		if !slices.Contains(part, o) && !slices.Contains(clus, o) {
			clus = append(clus, o)
		}
	}
	if len(part) == 0 && len(clus) == 0 {
		return nil
	}
	for _, c := range t.Columns {
		if (c.Kind == PartitionKey || c.Kind == Clustering) && !slices.Contains(part, c.Name) && !slices.Contains(clus, c.Name) {
			clus = append(clus, c.Name)
		}
	}
	if len(part) == 0 {
		// A range over the whole table: a partition key cannot answer it, so the rows
		// go to a fixed number of buckets, each sorted by the range column.
		name := t.Name + "_by_" + clus[0]
		return &Fix{
			Summary: fmt.Sprintf("keep a query table sorted by %s in a fixed number of buckets (bucket = a hash of the key modulo N), written with %s; read the N buckets' slices", clus[0], t.Name),
			DDL:     []string{tableDDL(t, name, []string{"bucket"}, clus, Column{Name: "bucket", Type: "int"})},
		}
	}
	name := t.Name + "_by_" + strings.Join(part, "_")
	return &Fix{
		Summary: fmt.Sprintf("keep a query table keyed by (%s), written with %s", strings.Join(part, ", "), t.Name),
		DDL:     []string{tableDDL(t, name, part, clus)},
	}
}

// bucketFix proposes t keyed with a bucket column added to the partition key, so that
// a partition holds one bucket (a day, a month, a hash of the row) of rows.
func (a *Analyzer) bucketFix(t *Table) *Fix {
	var part, clus []string
	for _, c := range t.Keys(PartitionKey) {
		part = append(part, c.Name)
	}
	for _, c := range t.Keys(Clustering) {
		clus = append(clus, c.Name)
	}
	part = append(part, "bucket")
	return &Fix{
		Summary: "bound the partitions: add a bucket column (e.g. the month of a time-ordered row, as int yyyymm) to the partition key, and read bucket by bucket with a LIMIT",
		DDL:     []string{tableDDL(t, t.Name+"_by_bucket", part, clus, Column{Name: "bucket", Type: "int"})},
	}
}

// tableDDL is CREATE TABLE name with t's columns (and extra ones) keyed by part and
// clus, keeping t's clustering order where it applies.
func tableDDL(t *Table, name string, part, clus []string, extra ...Column) string {
	var cols []string
	seen := map[string]bool{}
	for _, c := range append(slices.Clone(t.Columns), extra...) {
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		cols = append(cols, QuoteIdent(c.Name)+" "+c.Type)
	}
	q := func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = QuoteIdent(n)
		}
		return strings.Join(out, ", ")
	}
	key := "(" + q(part) + ")"
	if len(clus) > 0 {
		key += ", " + q(clus)
	}
	ddl := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))", Name{Keyspace: t.Keyspace, Table: name}, strings.Join(cols, ", "), key)
	var order []string
	desc := false
	for _, c := range clus {
		col, _ := t.Column(c)
		dir := "ASC"
		if col.Kind == Clustering && col.Descending {
			dir, desc = "DESC", true
		}
		order = append(order, QuoteIdent(c)+" "+dir)
	}
	if desc {
		ddl += " WITH CLUSTERING ORDER BY (" + strings.Join(order, ", ") + ")"
	}
	return ddl
}
