package analyze_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/analyze"
)

// FuzzParse feeds arbitrary text to the parser and the analyzer: neither may panic,
// an error is always a *ParseError with a position, and a statement that parses has
// its text in the input and normalises to text that parses too.
func FuzzParse(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.stmt)
	}
	for _, s := range []string{
		"", ";", "SELECT", "SELECT * FROM", "'unterminated", `"`, "/* open", "$$", "0x", "0xZZ", "1e", "-",
		"SELECT * FROM t WHERE a = [[[[[[1]]]]]]", "SELECT * FROM t WHERE a IN ((1, 2), (3, 4))",
		"BEGIN BATCH APPLY BATCH", "CREATE TABLE t (a int PRIMARY KEY, b vector<float, 3>)",
		"CREATE CUSTOM INDEX ON t (entries(m)) USING 'sai' WITH OPTIONS = {'a': 'b'}",
		"SELECT :\"Quoted\" FROM t", "SELECT * FROM t WHERE a = 1h30m AND b = -Infinity", "\x00\xff",
	} {
		f.Add(s)
	}
	script := "CREATE TABLE t (a int, b int, c text, m map<text, int>, v vector<float, 3>, PRIMARY KEY (a, b)); CREATE INDEX ON t (c) USING 'sai'; CREATE INDEX ON t (v) USING 'sai'"
	schema, err := analyze.SchemaFromCQL("ks", script)
	if err != nil {
		f.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cql string) {
		st, err := analyze.Parse(cql)
		if err != nil {
			var pe *analyze.ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Column < 1 || pe.Token == "" {
				t.Fatalf("Parse(%q) = %v (%T), want a *ParseError with a position", cql, err, err)
			}
		} else if !strings.Contains(cql, st.Text()) {
			t.Fatalf("Parse(%q).Text() = %q, not in the input", cql, st.Text())
		}
		r := a.Analyze(cql, analyze.Options{Idempotent: true})
		create := st != nil && strings.HasPrefix(st.Kind(), "CREATE")
		if (err == nil && !create) != (r.Error == "") {
			t.Fatalf("Analyze(%q) error %q, Parse error %v", cql, r.Error, err)
		}
		if _, err := r.JSON(); err != nil {
			t.Fatal(err)
		}
		if err == nil {
			if _, perr := analyze.Parse(analyze.Normalize(cql)); perr != nil && !create {
				t.Fatalf("Normalize(%q) = %q does not parse: %v", cql, analyze.Normalize(cql), perr)
			}
		}
	})
}
