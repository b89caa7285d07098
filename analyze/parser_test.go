package analyze_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/analyze"
)

// Every statement form the brief lists parses into the expected tree.
func TestParse(t *testing.T) {
	u := "123e4567-e89b-12d3-a456-426614174000"
	for _, tc := range []struct {
		cql   string
		check func(analyze.Statement) bool
	}{
		{`SELECT JSON DISTINCT a, COUNT(*) AS n, token(a, b), similarity_cosine(e, [1.5, -2e3]), CAST(x AS text) FROM ks."Mixed"`, func(s analyze.Statement) bool {
			q := s.(*analyze.Select)
			return q.JSON && q.Distinct && len(q.Selectors) == 5 && q.Selectors[1].Alias == "n" && q.Selectors[1].Expr.Items[0].Kind == analyze.TermStar &&
				q.Table == analyze.Name{Keyspace: "ks", Table: "Mixed"} && q.Selectors[3].Expr.Items[1].Kind == analyze.TermList &&
				q.Selectors[4].Expr.Kind == analyze.TermCast
		}},
		{`SELECT * FROM t WHERE token(a, b) > ? AND (c1, c2) >= (?, :two) AND x IN ((1, 2), (3, 4)) AND y IN ? AND m CONTAINS KEY 'k' AND s CONTAINS 3 AND m['k'] = 1`, func(s analyze.Statement) bool {
			w := s.(*analyze.Select).Where
			return len(w) == 7 && w[0].Token && reflect.DeepEqual(w[0].Columns, []string{"a", "b"}) && w[1].Tuple && w[1].Op == ">=" &&
				reflect.DeepEqual(w[1].Values[0].Items[1], analyze.Term{Kind: analyze.TermNamed, Text: "two"}) && len(w[2].Values) == 2 && w[3].InMarker &&
				w[4].Op == "CONTAINS KEY" && w[5].Op == "CONTAINS" && w[6].Key != nil
		}},
		{`SELECT a FROM t WHERE p = 1 GROUP BY a ORDER BY c DESC, d ASC PER PARTITION LIMIT 2 LIMIT 10 ALLOW FILTERING`, func(s analyze.Statement) bool {
			q := s.(*analyze.Select)
			return reflect.DeepEqual(q.GroupBy, []string{"a"}) && len(q.OrderBy) == 2 && q.OrderBy[0].Desc && !q.OrderBy[1].Desc &&
				q.PerPartition.Text == "2" && q.Limit.Text == "10" && q.AllowFiltering
		}},
		{`SELECT * FROM t ORDER BY e ANN OF ? LIMIT 5`, func(s analyze.Statement) bool { return s.(*analyze.Select).OrderBy[0].ANN.IsMarker() }},
		{`INSERT INTO ks.t (a, "B", c) VALUES (?, $$it's$$, {'k': [1, 2]}) IF NOT EXISTS USING TTL 60 AND TIMESTAMP 5`, func(s analyze.Statement) bool {
			q := s.(*analyze.Insert)
			return reflect.DeepEqual(q.Columns, []string{"a", "B", "c"}) && q.Values[1].Text == "it's" && q.Values[2].Kind == analyze.TermMap &&
				q.IfNotExists && q.Using.TTL.Text == "60" && q.Using.Timestamp.Text == "5"
		}},
		{`INSERT INTO t JSON '{"a": 1}' DEFAULT UNSET`, func(s analyze.Statement) bool { return s.(*analyze.Insert).JSON.Text == `{"a": 1}` }},
		{`UPDATE t USING TTL 5 SET c = c + ?, l = [1] + l, r = r - {'x'}, m[?] = ?, n += 2, u.f = 'x' WHERE id = ` + u + ` IF x = 'it''s' AND y != 0xCAFE`, func(s analyze.Statement) bool {
			q := s.(*analyze.Update)
			return len(q.Set) == 6 && q.Set[0].Op == analyze.AssignAdd && q.Set[1].Op == analyze.AssignPrepend && q.Set[2].Op == analyze.AssignRemove &&
				q.Set[3].Key != nil && q.Set[4].Op == analyze.AssignAdd && q.Set[5].Field == "f" && q.Where[0].Values[0].Kind == analyze.TermUUID &&
				q.If[0].Values[0].Text == "it's" && reflect.DeepEqual(q.If[1].Values[0], analyze.Term{Kind: analyze.TermBlob, Text: "0xcafe"})
		}},
		{`UPDATE t SET a = true, b = null, c = 1h30m, d = -Infinity, e = NaN WHERE k = 1 IF EXISTS`, func(s analyze.Statement) bool {
			q := s.(*analyze.Update)
			return q.IfExists && q.Set[0].Value.Kind == analyze.TermBool && q.Set[1].Value.Kind == analyze.TermNull &&
				q.Set[2].Value.Kind == analyze.TermDuration && q.Set[3].Value.Text == "-Infinity" && q.Set[4].Value.Kind == analyze.TermNumber
		}},
		{`DELETE a, m['k'], u.f FROM t USING TIMESTAMP 1 WHERE k = 1 AND c >= 2 IF a = 3`, func(s analyze.Statement) bool {
			q := s.(*analyze.Delete)
			return len(q.Targets) == 3 && q.Targets[1].Key != nil && q.Targets[2].Field == "f" && q.Using.Timestamp != nil && len(q.If) == 1
		}},
		{"BEGIN COUNTER BATCH USING TIMESTAMP 1\n UPDATE c SET n = n + 1 WHERE k = 1;\n UPDATE c SET n = n + 1 WHERE k = 2\nAPPLY BATCH;", func(s analyze.Statement) bool {
			q := s.(*analyze.Batch)
			return q.Type == "COUNTER" && len(q.Statements) == 2
		}},
		{"-- a comment\nSELECT /* inline */ a // trailing\nFROM t", func(s analyze.Statement) bool { return s.(*analyze.Select).Selectors[0].Expr.Text == "a" }},
		{`CREATE TABLE IF NOT EXISTS p (t text, id uuid, e vector<float, 384>, m frozen<map<text,int>>, s int static, c int, PRIMARY KEY ((t, id), c)) WITH CLUSTERING ORDER BY (c DESC) AND compaction = {'class': 'X'}`, func(s analyze.Statement) bool {
			q := s.(*analyze.CreateTable)
			return q.Columns[2].Type == "vector<float, 384>" && q.Columns[3].Type == "frozen<map<text, int>>" && q.Columns[4].Static &&
				reflect.DeepEqual(q.PartitionKey, []string{"t", "id"}) && q.Descending["c"]
		}},
		{`CREATE CUSTOM INDEX IF NOT EXISTS i ON p (keys(m)) USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'cosine'}`, func(s analyze.Statement) bool {
			q := s.(*analyze.CreateIndex)
			return q.Name == "i" && q.Target == "keys" && q.Column == "m" && q.Options["similarity_function"] == "cosine"
		}},
	} {
		s, err := analyze.Parse(tc.cql)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.cql, err)
			continue
		}
		if !tc.check(s) {
			t.Errorf("Parse(%q) = %#v", tc.cql, s)
		}
	}
}

// Errors name the line, the column and the token.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		cql        string
		line, col  int
		token, msg string
	}{
		{"SELECT * FROM t WHERE a = ", 1, 27, "end of input", "expected a value"},
		{"SELECT *\nFROM t\nWHERE a == 1", 3, 10, "=", "expected a value"},
		{"SELECT * FROM t WHERE a = 'open", 1, 27, "'", "string is not closed"},
		{"SELECT * FROM t /* never closed", 1, 17, "/*", "comment is not closed"},
		{"SELECT * FROM select", 1, 15, "select", "expected table name"},
		{"INSERT INTO t (a, b) VALUES (1)", 1, 31, ")", "2 columns but 1 values"},
		{"DROP TABLE t", 1, 1, "DROP", "expected SELECT"},
		{"SELECT * FROM t WHERE a = 0xZZ", 1, 27, "0xZ", "hex digits"},
		{"SELECT * FROM t; SELECT", 1, 24, "end of input", "expected"},
		{"SELECT * FROM t WHERE a = #", 1, 27, "#", "unexpected character"},
	} {
		_, err := analyze.Parse(tc.cql)
		var pe *analyze.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *ParseError", tc.cql, err)
			continue
		}
		if pe.Line != tc.line || pe.Column != tc.col || pe.Token != tc.token || !contains(pe.Msg, tc.msg) {
			t.Errorf("Parse(%q) = %d:%d at %q: %s; want %d:%d at %q: %s", tc.cql, pe.Line, pe.Column, pe.Token, pe.Msg, tc.line, tc.col, tc.token, tc.msg)
		}
	}
	if _, err := analyze.Parse("SELECT * FROM t; SELECT * FROM u"); err == nil {
		t.Error("Parse accepted two statements")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"name": "name", "Mixed": `"Mixed"`, "select": `"select"`, `a"b`: `"a""b"`, "1st": `"1st"`, "user_id": "user_id"} {
		if got := analyze.QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}
