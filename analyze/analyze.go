package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxANNLimit is the greatest LIMIT Cassandra 5.0 accepts on an ANN query.
const MaxANNLimit = 1000

// Config tunes the analysis. The zero value is usable: Validate fills the defaults.
type Config struct {
	// LargeIN is the number of partitions an IN on the partition key may address
	// before LARGE_IN is flagged. Default 20.
	LargeIN int
	// TombstoneWarn is the tombstones per read (the table's p99) from which a table is
	// tombstone-heavy. Default 1000, Cassandra's tombstone_warn_threshold.
	TombstoneWarn float64
	// Tombstones gives tombstones per read by table name (keyspace.table) for tables
	// the node has no figure for.
	Tombstones map[string]float64
}

// Validate fills the defaults and checks the values.
func (c *Config) Validate() error {
	if c.LargeIN == 0 {
		c.LargeIN = 20
	}
	if c.TombstoneWarn == 0 {
		c.TombstoneWarn = 1000
	}
	if c.LargeIN < 1 {
		return fmt.Errorf("analyze: Config.LargeIN %d is not positive", c.LargeIN)
	}
	if c.TombstoneWarn < 0 {
		return fmt.Errorf("analyze: Config.TombstoneWarn %g is negative", c.TombstoneWarn)
	}
	return nil
}

// Analyzer analyses statements against a schema. It is safe for concurrent use; it
// does not change the schema.
type Analyzer struct {
	schema *Schema
	cfg    Config
}

// New returns an analyzer of statements on schema.
func New(schema *Schema, cfg Config) (*Analyzer, error) {
	if schema == nil {
		return nil, errors.New("analyze: New: nil schema")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Analyzer{schema: schema, cfg: cfg}, nil
}

// Options describe how the caller runs a statement.
type Options struct {
	// Idempotent is true when the statement is marked idempotent, so that the driver
	// or the retry package may run it again after a timeout.
	Idempotent bool
}

// Analyze parses cql and analyses it; a statement that does not parse has a report
// with Error set.
func (a *Analyzer) Analyze(cql string, o Options) *Report {
	st, err := Parse(cql)
	if err != nil {
		return &Report{Statement: strings.TrimSpace(cql), Error: err.Error(), Findings: []Finding{}, Idempotent: true}
	}
	return a.AnalyzeStatement(st, o)
}

// AnalyzeStatement analyses a parsed statement.
func (a *Analyzer) AnalyzeStatement(st Statement, o Options) *Report {
	return a.analyze(st, o, false)
}

// analyze analyses st; a batch's statements (inner) get no idempotence finding of
// their own: the batch has it.
func (a *Analyzer) analyze(st Statement, o Options, inner bool) *Report {
	r := &Report{Statement: st.Text(), Kind: st.Kind(), Idempotent: true, Findings: []Finding{}}
	switch st := st.(type) {
	case *Select:
		a.selectStmt(r, st)
	case *Insert:
		a.insert(r, st)
	case *Update:
		a.update(r, st)
	case *Delete:
		a.delete(r, st)
	case *Batch:
		for _, s := range st.Statements {
			c := a.analyze(s, o, true)
			r.Statements = append(r.Statements, c)
			r.Idempotent = r.Idempotent && c.Idempotent
			if c.Refused && !r.Refused {
				r.Refused, r.Reason = true, c.Reason
			}
		}
		if st.Type == "COUNTER" {
			r.Idempotent = false
		}
	default:
		r.Error = fmt.Sprintf("analyze: %s is not a statement to analyse (SELECT, INSERT, UPDATE, DELETE, BATCH)", st.Kind())
		return r
	}
	if !r.Idempotent && !inner {
		a.nonIdempotent(r, o)
	}
	slices.SortStableFunc(r.Findings, func(x, y Finding) int { return cmp.Compare(rank(y.Severity), rank(x.Severity)) })
	return r
}

func rank(s Severity) int { return map[Severity]int{Info: 0, Warning: 1, Error: 2}[s] }

func (r *Report) add(code string, sev Severity, fix *Fix, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Code: code, Severity: sev, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// refuse marks the statement refused with the server's reason, once.
func (r *Report) refuse(code string, fix *Fix, reason string) {
	if !r.Refused {
		r.Refused, r.Reason = true, reason
	}
	r.add(code, Error, fix, "%s", reason)
}

// table resolves the statement's table, refusing it when unknown.
func (a *Analyzer) table(r *Report, n Name) *Table {
	t, ok := a.schema.Table(n)
	if !ok {
		ks := n.Keyspace
		if ks == "" {
			ks = a.schema.Keyspace
		}
		r.Table = ks + "." + n.Table
		r.refuse("UNKNOWN_TABLE", nil, fmt.Sprintf("table %s does not exist", r.Table))
		return nil
	}
	r.Table = t.Keyspace + "." + t.Name
	return t
}

// checkColumns refuses a statement naming a column the table does not have.
func checkColumns(r *Report, t *Table, cols ...string) bool {
	for _, c := range cols {
		if _, ok := t.Column(c); !ok {
			r.refuse("UNKNOWN_COLUMN", nil, fmt.Sprintf("Undefined column name %s in table %s", c, r.Table))
			return false
		}
	}
	return true
}

// restrictions sorts a WHERE clause by column.
type restrictions struct {
	byCol  map[string][]Relation
	token  *Relation
	tuples []Relation
}

func sortRelations(rels []Relation) restrictions {
	rs := restrictions{byCol: map[string][]Relation{}}
	for i := range rels {
		rel := rels[i]
		switch {
		case rel.Token:
			rs.token = &rels[i]
		case rel.Tuple:
			rs.tuples = append(rs.tuples, rel)
			for _, c := range rel.Columns {
				rs.byCol[c] = append(rs.byCol[c], rel)
			}
		default:
			rs.byCol[rel.Columns[0]] = append(rs.byCol[rel.Columns[0]], rel)
		}
	}
	return rs
}

func relColumns(rels []Relation) []string {
	var out []string
	for _, rel := range rels {
		out = append(out, rel.Columns...)
	}
	return out
}

// eqOrIn reports whether all of rels are = or IN on the column itself.
func eqOrIn(rels []Relation) bool {
	for _, rel := range rels {
		if rel.Tuple || rel.Key != nil || rel.Field != "" || rel.Op != "=" && rel.Op != "IN" {
			return false
		}
	}
	return len(rels) > 0
}

func hasIn(rels []Relation) bool {
	for _, rel := range rels {
		if rel.Op == "IN" {
			return true
		}
	}
	return false
}

// inCount returns the number of values of an IN (-1 for IN ?), 1 for =.
func inCount(rels []Relation) int {
	n := 1
	for _, rel := range rels {
		if rel.Op == "IN" {
			if rel.InMarker {
				return -1
			}
			n = len(rel.Values)
		}
	}
	return n
}

// isSlice reports whether op is a range comparison.
func isSlice(op string) bool { return op == "<" || op == "<=" || op == ">" || op == ">=" }

// saiRange reports whether an SAI index on a column of type typ answers range
// comparisons: in 5.0 text-like and boolean columns answer = only.
func saiRange(typ string) bool {
	switch typ {
	case "text", "varchar", "ascii", "boolean":
		return false
	}
	return collectionKind(typ) == "" && !isVector(typ)
}

// indexFor returns the index that answers rel on t, if any.
func indexFor(t *Table, rel Relation) (Index, bool) {
	if rel.Tuple || rel.Token || rel.Field != "" {
		return Index{}, false
	}
	col, _ := t.Column(rel.Columns[0])
	switch {
	case rel.Op == "CONTAINS KEY":
		return t.indexOn(col.Name, "keys")
	case rel.Op == "CONTAINS":
		if collectionKind(col.Type) == "map" {
			return t.indexOn(col.Name, "")
		}
		return t.indexOn(col.Name, "")
	case rel.Key != nil:
		return t.indexOn(col.Name, "entries")
	case rel.Op == "=":
		if collectionKind(col.Type) != "" {
			return t.indexOn(col.Name, "full")
		}
		return t.indexOn(col.Name, "")
	case isSlice(rel.Op):
		ix, ok := t.indexOn(col.Name, "")
		if ok && ix.SAI && saiRange(col.Type) {
			return ix, true
		}
	}
	return Index{}, false
}

func (a *Analyzer) selectStmt(r *Report, s *Select) {
	t := a.table(r, s.Table)
	if t == nil {
		return
	}
	rs := sortRelations(s.Where)
	cols := relColumns(s.Where)
	for _, o := range s.OrderBy {
		cols = append(cols, o.Column)
	}
	for _, sel := range s.Selectors {
		cols = append(cols, selectorColumns(sel.Expr)...)
	}
	cols = append(cols, s.GroupBy...)
	if !checkColumns(r, t, cols...) {
		return
	}
	pk, ck := t.Keys(PartitionKey), t.Keys(Clustering)
	var ann *Ordering
	for i := range s.OrderBy {
		if s.OrderBy[i].ANN != nil {
			ann = &s.OrderBy[i]
		}
	}

	// The partition key.
	pkFull, pkAny := true, false
	parts := 1
	for _, c := range pk {
		rels := rs.byCol[c.Name]
		if len(rels) > 0 {
			pkAny = true
		}
		if !eqOrIn(rels) {
			pkFull = false
			continue
		}
		if n := inCount(rels); n < 0 || parts < 0 {
			parts = -1
		} else {
			parts *= n
		}
	}
	pkIn := false
	for _, c := range pk {
		pkIn = pkIn || hasIn(rs.byCol[c.Name])
	}
	if rs.token != nil {
		want := make([]string, len(pk))
		for i, c := range pk {
			want[i] = c.Name
		}
		if !slices.Equal(rs.token.Columns, want) {
			r.refuse("TOKEN_ORDER", nil, "The token function arguments must be in the partition key order: "+strings.Join(want, ", "))
			return
		}
	}

	// Which restrictions the keys answer, which an index answers, which need filtering.
	var filtered []Relation // restrictions only filtering answers
	var indexed []Index
	keyed := map[string]bool{}
	if pkFull {
		for _, c := range pk {
			keyed[c.Name] = true
		}
	}
	needIndexOrFilter := func(rel Relation) {
		if ix, ok := indexFor(t, rel); ok && !(rel.Op == "IN") {
			indexed = append(indexed, ix)
			return
		}
		filtered = append(filtered, rel)
	}
	if !pkFull {
		for _, c := range pk {
			for _, rel := range rs.byCol[c.Name] {
				needIndexOrFilter(rel)
			}
		}
	}
	// Clustering columns: a prefix restricted by = / IN, then one slice; on a
	// restricted partition. Past a gap or a slice, only filtering or an index answers.
	clusteringOK := pkFull
	var clusteringRefusal string
	sliced := ""
	for i, c := range ck {
		rels := rs.byCol[c.Name]
		if len(rels) == 0 {
			clusteringOK = false
			continue
		}
		switch {
		case !clusteringOK:
			if pkFull && i > 0 && sliced == "" && clusteringRefusal == "" {
				clusteringRefusal = fmt.Sprintf("PRIMARY KEY column %q cannot be restricted as preceding column %q is not restricted", c.Name, ck[i-1].Name)
			}
			for _, rel := range rels {
				needIndexOrFilter(rel)
			}
		case sliced != "":
			if clusteringRefusal == "" && !rels[0].Tuple {
				clusteringRefusal = fmt.Sprintf("Clustering column %q cannot be restricted (preceding column %q is restricted by a non-EQ relation)", c.Name, sliced)
			}
			for _, rel := range rels {
				if !rel.Tuple {
					needIndexOrFilter(rel)
				}
			}
		case eqOrIn(rels):
			keyed[c.Name] = true
		default:
			keyed[c.Name] = true
			for _, rel := range rels {
				if rel.Tuple || isSlice(rel.Op) {
					sliced = c.Name
				} else {
					needIndexOrFilter(rel)
				}
			}
		}
	}
	for _, c := range t.Columns {
		if c.Kind == Regular || c.Kind == Static {
			for _, rel := range rs.byCol[c.Name] {
				if rel.Op == "!=" {
					r.refuse("UNSUPPORTED_RELATION", nil, fmt.Sprintf(`Unsupported "!=" relation on %s`, c.Name))
					return
				}
				needIndexOrFilter(rel)
			}
		}
	}
	if len(indexed) > 0 {
		// With an index, restrictions the server cannot answer from the keys are
		// filtered; a gap in the clustering key is no longer refused outright.
		clusteringRefusal = ""
	}

	// The access path.
	switch {
	case ann != nil:
		r.Access = ANN
	case pkFull && parts == 1:
		r.Access = SinglePartition
	case pkFull:
		r.Access = MultiPartition
	case len(indexed) > 0:
		r.Access = IndexScan
	case rs.token != nil && len(filtered) == 0:
		r.Access = TokenRange
	case len(filtered) > 0:
		r.Access = FilteringScan
	default:
		r.Access = FullScan
	}
	if pkFull {
		r.Partitions = parts
	}
	if len(indexed) > 0 {
		r.Index = &IndexUse{Name: indexed[0].Name, Column: indexed[0].Column}
	}
	r.Filtering = len(filtered) > 0
	if rs.token != nil && !pkFull {
		for _, c := range ck {
			if len(rs.byCol[c.Name]) > 0 {
				r.Filtering = true
			}
		}
	}
	if !pkFull && pkAny && len(indexed) == 0 {
		r.Filtering = true
	}

	// What the server refuses.
	if ann != nil {
		a.annRules(r, t, s, ann, rs, pkIn, filtered)
		if r.Refused {
			return
		}
	}
	for _, o := range s.OrderBy {
		if o.ANN != nil {
			continue
		}
		c, _ := t.Column(o.Column)
		if c.Kind != Clustering {
			r.refuse("ORDER_BY_NOT_CLUSTERING", a.queryTableFix(t, s.Where, []string{o.Column}),
				"Order by is currently only supported on the clustered columns of the PRIMARY KEY, got "+o.Column)
			return
		}
	}
	if len(s.OrderBy) > 0 && ann == nil {
		if !pkFull {
			r.refuse("ORDER_BY_UNRESTRICTED", a.queryTableFix(t, s.Where, nil), "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.")
			return
		}
		reverse := false
		for i, o := range s.OrderBy {
			c, _ := t.Column(o.Column)
			if c.Position != i {
				r.refuse("ORDER_BY_ORDER", nil, "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY")
				return
			}
			rev := o.Desc != c.Descending
			if i == 0 {
				reverse = rev
			} else if rev != reverse {
				r.refuse("ORDER_BY_ORDER", nil, "Unsupported order by relation")
				return
			}
		}
		if pkIn {
			r.refuse("ORDER_BY_IN", nil, "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query")
			return
		}
	}
	if clusteringRefusal != "" && !s.AllowFiltering {
		r.refuse("CLUSTERING_GAP", a.queryTableFix(t, s.Where, nil), clusteringRefusal)
		return
	}
	if r.Filtering && !s.AllowFiltering {
		r.refuse("FILTERING_REQUIRED", a.filterFix(t, s.Where, filtered),
			"Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING")
		return
	}

	// Anti-patterns of accepted reads.
	if s.AllowFiltering && r.Filtering {
		sev := Warning
		where := "the whole table"
		if pkFull {
			where = "inside the partitions read"
			sev = Info
		}
		r.add("ALLOW_FILTERING", sev, a.filterFix(t, s.Where, filtered),
			"ALLOW FILTERING: the server reads and discards rows to answer %s (filtering %s)", describe(filtered), where)
	}
	if r.Access == MultiPartition && (parts < 0 || parts > a.cfg.LargeIN) {
		what := fmt.Sprintf("IN on the partition key reads %d partitions through one coordinator", parts)
		if parts < 0 {
			what = "IN ? on the partition key reads as many partitions as the bound list holds, through one coordinator"
		}
		r.add("LARGE_IN", Warning, &Fix{Summary: "run one single-partition query per key, a few at a time concurrently, instead of one IN: the coordinator holds every partition's rows at once"},
			"%s (threshold %d)", what, a.cfg.LargeIN)
	}
	if (r.Access == SinglePartition || r.Access == MultiPartition) && len(ck) > 0 && s.Limit == nil && s.PerPartition == nil && !s.Distinct && !allEq(ck, rs) && !aggregate(s) {
		r.add("UNBOUNDED_PARTITION", Warning, a.bucketFix(t),
			"reads a whole partition of %s with no LIMIT: a partition that grows without bound makes this read grow with it", r.Table)
	}
	switch r.Access {
	case FullScan:
		r.add("FULL_TABLE_SCAN", Warning, &Fix{Summary: "restrict the partition key, or page through token ranges with a LIMIT (as a batch job, not a request path)"},
			"reads every partition of %s", r.Table)
	}
	if (r.Access == FullScan || r.Access == TokenRange || r.Access == IndexScan || r.Access == FilteringScan) && s.Limit == nil && !aggregate(s) {
		r.add("SCAN_WITHOUT_LIMIT", Warning, &Fix{Summary: "add a LIMIT and page with the paging state"},
			"a %s with no LIMIT returns every matching row", strings.ReplaceAll(string(r.Access), "_", " "))
	}
	a.tombstones(r, t)
	a.estimate(r, t, s)
}

func (a *Analyzer) annRules(r *Report, t *Table, s *Select, ann *Ordering, rs restrictions, pkIn bool, filtered []Relation) {
	c, _ := t.Column(ann.Column)
	ix, ok := t.indexOn(c.Name, "")
	if !isVector(c.Type) && collectionKind(c.Type) != "list" {
		r.refuse("ANN_NO_INDEX", nil, fmt.Sprintf("Unexpected receiver type '%s'; only list and vector are expected", c.Type))
		return
	}
	if !isVector(c.Type) || !ok || !ix.SAI {
		r.refuse("ANN_NO_INDEX", &Fix{Summary: "create a vector SAI index on " + c.Name, DDL: []string{indexDDL(t, c.Name, "", isVector(c.Type))}},
			fmt.Sprintf("ANN ordering by vector requires the column %s to be a vector indexed using 'sai'", c.Name))
		return
	}
	sim := ix.Similarity
	if sim == "" {
		sim = "cosine"
	}
	r.Index = &IndexUse{Name: ix.Name, Column: ix.Column, Similarity: sim}
	if len(s.OrderBy) > 1 {
		r.refuse("ANN_ORDER", nil, "ANN ordering does not support any other ordering")
		return
	}
	switch {
	case s.Limit == nil:
		r.refuse("ANN_LIMIT", &Fix{Summary: fmt.Sprintf("add LIMIT k with k ≤ %d", MaxANNLimit)}, "Top-K queries must have a limit specified and the limit must be less than the query page size")
		return
	case s.Limit.Kind == TermNumber:
		if n, err := strconv.Atoi(s.Limit.Text); err == nil && n > MaxANNLimit {
			r.refuse("ANN_LIMIT", &Fix{Summary: fmt.Sprintf("use LIMIT %d or less, and page by narrowing the restrictions", MaxANNLimit)},
				fmt.Sprintf("Use of ANN OF in an ORDER BY clause requires a LIMIT that is not greater than %d. LIMIT was %d", MaxANNLimit, n))
			return
		}
	case s.Limit.IsMarker():
		r.add("ANN_LIMIT_BOUND", Info, nil, "the LIMIT is bound at run time: the server refuses one greater than %d", MaxANNLimit)
	}
	if pkIn {
		r.refuse("ANN_IN", nil, "Select on indexed columns and with IN clause for the PRIMARY KEY are not supported")
		return
	}
	if len(filtered) > 0 {
		var fix Fix
		fix.Summary = "index every column an ANN query restricts"
		for _, rel := range filtered {
			if rel.Op == "IN" {
				fix.Summary = "replace the IN by one ANN query per value, or index the column and use ="
			}
			fix.DDL = append(fix.DDL, indexDDL(t, rel.Columns[0], targetFor(t, rel), false))
		}
		if hasInRel(filtered) {
			r.refuse("FILTERING_REQUIRED", &fix, "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING")
			return
		}
		r.refuse("ANN_UNINDEXED", &fix, "ANN ordering by vector requires all restricted column(s) to be indexed")
	}
}

func hasInRel(rels []Relation) bool {
	for _, r := range rels {
		if r.Op == "IN" {
			return true
		}
	}
	return false
}

func allEq(ck []Column, rs restrictions) bool {
	for _, c := range ck {
		rels := rs.byCol[c.Name]
		if len(rels) == 0 || rels[0].Op != "=" || rels[0].Tuple {
			return false
		}
	}
	return true
}

// aggregate reports whether the select returns one row per group (COUNT, MIN, ...).
func aggregate(s *Select) bool {
	for _, sel := range s.Selectors {
		if sel.Expr.Kind == TermFunc {
			switch sel.Expr.Text {
			case "count", "min", "max", "sum", "avg":
				return true
			}
		}
	}
	return false
}

func selectorColumns(t Term) []string {
	switch t.Kind {
	case TermColumn:
		name, _, _ := strings.Cut(t.Text, ".")
		return []string{name}
	case TermFunc, TermCast, TermBinary:
		var out []string
		for _, it := range t.Items {
			out = append(out, selectorColumns(it)...)
		}
		return out
	}
	return nil
}

func describe(rels []Relation) string {
	if len(rels) == 0 {
		return "the restrictions"
	}
	var parts []string
	for _, r := range rels {
		parts = append(parts, strings.Join(r.Columns, ", ")+" "+r.Op)
	}
	return strings.Join(parts, " and ")
}

func (a *Analyzer) tombstones(r *Report, t *Table) {
	k := t.Keyspace + "." + t.Name
	var n float64
	var from string
	if st := a.schema.Stats[k]; st != nil && st.TombstonesPerReadP99 != nil {
		n, from = *st.TombstonesPerReadP99, "the node's tombstones_per_read p99"
	} else if v, ok := a.cfg.Tombstones[k]; ok {
		n, from = v, "the configured count"
	}
	if from != "" && n >= a.cfg.TombstoneWarn {
		r.add("TOMBSTONE_HEAVY", Warning, &Fix{Summary: "stop writing nulls (leave columns unset), avoid deleting inside hot partitions, and bucket time-ordered data so reads skip expired partitions",
			DDL: a.bucketFix(t).DDL},
			"%s reads %.0f tombstones per read (%s; warn threshold %.0f)", r.Table, n, from, a.cfg.TombstoneWarn)
	}
}

func (a *Analyzer) estimate(r *Report, t *Table, s *Select) {
	st := a.schema.Stats[t.Keyspace+"."+t.Name]
	if st == nil {
		return
	}
	e := &Estimate{Partitions: st.Partitions, Rows: -1, Table: st}
	switch r.Access {
	case SinglePartition:
		e.Partitions = 1
	case MultiPartition:
		e.Partitions = int64(r.Partitions)
	}
	if e.Partitions >= 0 {
		e.Bytes = e.Partitions * st.MeanPartitionBytes
	} else {
		e.Bytes = -1
	}
	if (r.Access == SinglePartition || r.Access == MultiPartition) && e.Partitions >= 0 && st.RowsPerReadP50 != nil {
		e.Rows = int64(float64(e.Partitions) * *st.RowsPerReadP50)
	}
	if s.Limit != nil && s.Limit.Kind == TermNumber {
		if n, err := strconv.ParseInt(s.Limit.Text, 10, 64); err == nil && (e.Rows < 0 || n < e.Rows) && (r.Access == FullScan || r.Access == TokenRange || e.Rows >= 0) {
			e.Rows = n
		}
	}
	r.Estimate = e
}

// writeKey checks the WHERE clause of an UPDATE or DELETE: the partition key by = or
// IN, and for an UPDATE every clustering column by = or IN, or none of them when
// the UPDATE writes static columns only (staticOnly).
func (a *Analyzer) writeKey(r *Report, t *Table, where []Relation, update, targets, staticOnly bool) bool {
	if !checkColumns(r, t, relColumns(where)...) {
		return false
	}
	rs := sortRelations(where)
	var missing []string
	parts := 1
	for _, c := range t.Keys(PartitionKey) {
		rels := rs.byCol[c.Name]
		if !eqOrIn(rels) {
			missing = append(missing, c.Name)
			continue
		}
		if n := inCount(rels); n < 0 || parts < 0 {
			parts = -1
		} else {
			parts *= n
		}
	}
	if len(missing) > 0 {
		r.refuse("PARTITION_KEY_MISSING", nil, "Some partition key parts are missing: "+strings.Join(missing, ", "))
		return false
	}
	var nonKey []string
	for _, rel := range where {
		for _, c := range rel.Columns {
			if col, _ := t.Column(c); col.Kind == Regular || col.Kind == Static {
				nonKey = append(nonKey, c)
			}
		}
	}
	if len(nonKey) > 0 {
		r.refuse("NON_KEY_WHERE", nil, "Non PRIMARY KEY columns found in where clause: "+strings.Join(nonKey, ", "))
		return false
	}
	r.Partitions = parts
	r.Access = SinglePartition
	if parts != 1 {
		r.Access = MultiPartition
	}
	full, anyClustering := true, false
	for _, c := range t.Keys(Clustering) {
		rels := rs.byCol[c.Name]
		anyClustering = anyClustering || len(rels) > 0
		if len(rels) == 0 || !eqOrIn(rels) {
			if update && len(rels) > 0 {
				r.refuse("UPDATE_SLICE", nil, "Slice restrictions are not supported on the clustering columns in UPDATE statements")
				return false
			}
			full = false
			if update {
				missing = append(missing, c.Name)
			}
		}
	}
	if update && staticOnly && anyClustering {
		r.refuse("STATIC_CLUSTERING", nil, "Invalid restrictions on clustering columns since the UPDATE statement modifies only static columns")
		return false
	}
	if update && len(missing) > 0 && !staticOnly {
		r.refuse("CLUSTERING_KEY_MISSING", nil, "Some clustering keys are missing: "+strings.Join(missing, ", "))
		return false
	}
	if !update && !full && targets {
		r.refuse("RANGE_DELETE_COLUMNS", nil, "Range deletions are not supported for specific columns")
		return false
	}
	return true
}

// onlyStatic reports whether a write that sets columns (key columns aside) and
// has conditions on conds applies to static columns only: none of them is a
// regular column and at least one is static. Cassandra then lets the write name
// the partition key alone (ModificationStatement's appliesOnlyToStaticColumns).
func onlyStatic(t *Table, columns, conds []string) bool {
	static := false
	for _, name := range slices.Concat(columns, conds) {
		c, _ := t.Column(name)
		switch c.Kind {
		case Static:
			static = true
		case Regular:
			return false
		}
	}
	return static
}

func (a *Analyzer) insert(r *Report, s *Insert) {
	t := a.table(r, s.Table)
	if t == nil {
		return
	}
	r.Access, r.Partitions = SinglePartition, 1
	if t.IsCounter() {
		r.refuse("COUNTER_INSERT", nil, "INSERT statements are not allowed on counter tables, use UPDATE instead")
		return
	}
	if s.JSON == nil {
		if !checkColumns(r, t, s.Columns...) {
			return
		}
		var missing []string
		for _, c := range t.Keys(PartitionKey) {
			if !slices.Contains(s.Columns, c.Name) {
				missing = append(missing, c.Name)
			}
		}
		if len(missing) > 0 {
			r.refuse("PARTITION_KEY_MISSING", nil, "Some partition key parts are missing: "+strings.Join(missing, ", "))
			return
		}
		for _, c := range t.Keys(Clustering) {
			if !slices.Contains(s.Columns, c.Name) {
				missing = append(missing, c.Name)
			}
		}
		if len(missing) > 0 && !onlyStatic(t, s.Columns, nil) {
			r.refuse("CLUSTERING_KEY_MISSING", nil, "Some clustering keys are missing: "+strings.Join(missing, ", "))
			return
		}
		for _, v := range s.Values {
			if v.calls("now", "uuid", "currenttimeuuid", "currenttimestamp") {
				r.Idempotent = false
			}
		}
	}
	if s.IfNotExists {
		r.Idempotent = false
	}
}

func (a *Analyzer) update(r *Report, s *Update) {
	t := a.table(r, s.Table)
	if t == nil {
		return
	}
	var set []string
	for _, as := range s.Set {
		set = append(set, as.Column)
	}
	if !checkColumns(r, t, set...) || !checkColumns(r, t, relColumns(s.If)...) ||
		!a.writeKey(r, t, s.Where, true, false, onlyStatic(t, set, relColumns(s.If))) {
		return
	}
	for _, as := range s.Set {
		c, _ := t.Column(as.Column)
		if c.Kind == PartitionKey || c.Kind == Clustering {
			r.refuse("SET_KEY", nil, fmt.Sprintf("PRIMARY KEY part %s found in SET part", c.Name))
			return
		}
		kind := collectionKind(c.Type)
		switch {
		case c.Type == "counter":
			r.Idempotent = false
		case kind == "list" && (as.Op == AssignAdd || as.Op == AssignPrepend):
			r.Idempotent = false
		case as.Value.calls("now", "uuid", "currenttimeuuid", "currenttimestamp"):
			r.Idempotent = false
		}
	}
	if len(s.If) > 0 || s.IfExists {
		r.Idempotent = false
	}
}

func (a *Analyzer) delete(r *Report, s *Delete) {
	t := a.table(r, s.Table)
	if t == nil {
		return
	}
	var cols []string
	for _, d := range s.Targets {
		cols = append(cols, d.Column)
	}
	if !checkColumns(r, t, cols...) || !a.writeKey(r, t, s.Where, false, len(s.Targets) > 0, false) {
		return
	}
	if len(s.If) > 0 || s.IfExists {
		r.Idempotent = false
	}
	for _, d := range s.Targets {
		if c, _ := t.Column(d.Column); collectionKind(c.Type) == "list" && d.Key != nil {
			r.Idempotent = false
		}
	}
}

// nonIdempotent adds the finding for a statement that is not idempotent: an error
// when the caller retries it.
func (a *Analyzer) nonIdempotent(r *Report, o Options) {
	cause, remedy := idempotenceCause(r.Statement)
	fix := &Fix{Summary: remedy}
	if o.Idempotent {
		fix.Summary = "do not mark it idempotent (a retry after a timeout may apply it twice); " + remedy
		r.add("NON_IDEMPOTENT_RETRIED", Error, fix, "marked idempotent for retry, but %s is not idempotent", cause)
		return
	}
	r.add("NON_IDEMPOTENT", Info, fix, "%s is not idempotent: it must not be retried blindly", cause)
}

// idempotenceCause names why a statement is not idempotent and what to do instead.
func idempotenceCause(text string) (cause, remedy string) {
	up := strings.ToUpper(text)
	switch {
	case strings.Contains(up, " IF "):
		return "a lightweight transaction", "after a timeout, read the row at SERIAL consistency to learn whether it applied"
	case strings.Contains(up, "NOW()") || strings.Contains(up, "UUID()") || strings.Contains(up, "CURRENTTIME"):
		return "a server-generated time or UUID", "generate the value in the client and bind it"
	case strings.Contains(up, "COUNTER"):
		return "a counter batch", "record applied operation ids in a ledger table and skip those already applied"
	}
	return "a counter increment or list append/prepend", "use a set, or a map keyed by an operation id, or record applied operation ids in a ledger table"
}
