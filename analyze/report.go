package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Access is how Cassandra reaches the rows of a statement.
type Access string

// The access paths.
const (
	// SinglePartition: the whole partition key is restricted by =.
	SinglePartition Access = "single_partition"
	// MultiPartition: the partition key is restricted by = and IN: one read per
	// combination of values.
	MultiPartition Access = "multi_partition"
	// TokenRange: token(partition key) is restricted: a scan of a token range.
	TokenRange Access = "token_range"
	// IndexScan: a Storage-Attached (or legacy secondary) index selects the rows;
	// every token range is queried.
	IndexScan Access = "index"
	// ANN: ORDER BY vector ANN OF: an approximate nearest-neighbour search on a
	// vector index.
	ANN Access = "ann"
	// FilteringScan: the rows are read and filtered by the server (ALLOW FILTERING).
	FilteringScan Access = "filtering_scan"
	// FullScan: every partition of the table is read.
	FullScan Access = "full_scan"
)

// Severity ranks a finding.
type Severity string

// The severities. An error is a statement the server refuses or that is wrong to
// run as it is called (a non-idempotent statement retried).
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Fix is a concrete change that removes a finding.
type Fix struct {
	// Summary says what to do.
	Summary string `json:"summary"`
	// DDL is the CQL to run for it (CREATE INDEX, CREATE TABLE), if any.
	DDL []string `json:"ddl,omitempty"`
}

// Finding is one problem found in a statement.
type Finding struct {
	// Code names the kind of problem, e.g. ALLOW_FILTERING (see docs/analyze.md).
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Fix      *Fix     `json:"fix,omitempty"`
}

// IndexUse is the index a statement uses.
type IndexUse struct {
	Name       string `json:"name"`
	Column     string `json:"column"`
	Similarity string `json:"similarity,omitempty"`
}

// Estimate is what the statement touches, from the node's statistics. Counts are -1
// when not known.
type Estimate struct {
	// Partitions is the number of partitions read: 1 or the IN combinations for key
	// access, the table's estimated partitions for a scan (an upper bound for an
	// index or token range scan).
	Partitions int64 `json:"partitions"`
	// Rows is the rows read: partitions × rows_per_read p50 for key access, bounded
	// by a literal LIMIT; -1 when the node has no figure.
	Rows int64 `json:"rows"`
	// Bytes is partitions × the table's mean partition size.
	Bytes int64 `json:"bytes"`
	// Table is the table's statistics the estimate is made from.
	Table *TableStats `json:"table,omitempty"`
}

// Report is the analysis of one statement.
type Report struct {
	// Statement is the statement's text.
	Statement string `json:"statement"`
	// Kind is SELECT, INSERT, UPDATE, DELETE or BATCH; empty when it did not parse.
	Kind string `json:"kind,omitempty"`
	// Table is the keyspace.table concerned.
	Table string `json:"table,omitempty"`
	// Access is the access path; empty for a batch or a statement that did not parse.
	Access Access `json:"access,omitempty"`
	// Partitions is the number of partitions the key restrictions address: 1 for a
	// single partition, the product of the IN lists' sizes, -1 when an IN ? leaves it
	// unknown, 0 when the partition key is not restricted.
	Partitions int `json:"partitions"`
	// Index is the index used, if any.
	Index *IndexUse `json:"index,omitempty"`
	// Filtering is true when the server filters rows it reads (ALLOW FILTERING).
	Filtering bool `json:"filtering"`
	// Refused is true when Cassandra 5.0 would refuse the statement; Reason is the
	// server's message for it.
	Refused bool   `json:"refused"`
	Reason  string `json:"reason,omitempty"`
	// Idempotent is false when running the statement twice may not leave the same
	// result (counters, list appends, LWTs, now()).
	Idempotent bool `json:"idempotent"`
	// Findings are the anti-patterns found, most severe first.
	Findings []Finding `json:"findings"`
	// Estimate is present when the schema has the table's statistics.
	Estimate *Estimate `json:"estimate,omitempty"`
	// Error is the parse error, if the statement did not parse.
	Error string `json:"error,omitempty"`
	// Statements are the reports of a batch's statements.
	Statements []*Report `json:"statements,omitempty"`
}

// Failed reports whether the statement did not parse, would be refused, or has an
// error-severity finding.
func (r *Report) Failed() bool {
	if r.Error != "" || r.Refused {
		return true
	}
	for _, f := range r.Findings {
		if f.Severity == Error {
			return true
		}
	}
	for _, s := range r.Statements {
		if s.Failed() {
			return true
		}
	}
	return false
}

// Has reports whether the report (or one of a batch's) has a finding with code.
func (r *Report) Has(code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	for _, s := range r.Statements {
		if s.Has(code) {
			return true
		}
	}
	return false
}

// JSON returns the report as indented JSON (field names as the struct tags give them).
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// WriteText writes the report for a person to read.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	r.text(&b, "")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) text(b *strings.Builder, indent string) {
	fmt.Fprintf(b, "%sstatement: %s\n", indent, oneLine(r.Statement))
	if r.Error != "" {
		fmt.Fprintf(b, "%s  error:   %s\n", indent, r.Error)
		return
	}
	if r.Kind == "BATCH" {
		fmt.Fprintf(b, "%s  batch of %d statements\n", indent, len(r.Statements))
	} else {
		fmt.Fprintf(b, "%s  table:   %s\n", indent, r.Table)
		access := string(r.Access)
		if r.Access == MultiPartition {
			if r.Partitions < 0 {
				access += " (partitions bound at run time)"
			} else {
				access += fmt.Sprintf(" (%d partitions)", r.Partitions)
			}
		}
		if r.Filtering && r.Access != FilteringScan {
			access += " with filtering"
		}
		fmt.Fprintf(b, "%s  access:  %s\n", indent, access)
		if r.Index != nil {
			sim := ""
			if r.Index.Similarity != "" {
				sim = ", similarity " + r.Index.Similarity
			}
			fmt.Fprintf(b, "%s  index:   %s on %s%s\n", indent, r.Index.Name, r.Index.Column, sim)
		}
	}
	if r.Refused {
		fmt.Fprintf(b, "%s  REFUSED: %s\n", indent, r.Reason)
	}
	if !r.Idempotent {
		fmt.Fprintf(b, "%s  not idempotent\n", indent)
	}
	if e := r.Estimate; e != nil {
		fmt.Fprintf(b, "%s  estimate: %s partitions, %s rows, %s bytes\n", indent, count(e.Partitions), count(e.Rows), count(e.Bytes))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(b, "%s  [%s] %s: %s\n", indent, f.Severity, f.Code, f.Message)
		if f.Fix != nil {
			fmt.Fprintf(b, "%s    fix: %s\n", indent, f.Fix.Summary)
			for _, d := range f.Fix.DDL {
				fmt.Fprintf(b, "%s      %s\n", indent, d)
			}
		}
	}
	for _, s := range r.Statements {
		s.text(b, indent+"  ")
	}
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
