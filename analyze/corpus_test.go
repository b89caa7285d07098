package analyze_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/analyze"
)

// corpusCase is one statement of testdata/corpus.txt with its expected verdict.
type corpusCase struct {
	line     int
	stmt     string
	access   string
	refused  string // "no" or a part of the server's message
	findings []string
	ddl      string
	retry    bool
	live     bool
}

// vector384 is the literal $V384 stands for in the corpus.
func vector384() string {
	parts := make([]string, 384)
	for i := range parts {
		parts[i] = "0.05"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	f, err := os.Open("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out []corpusCase
		cur *corpusCase
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			if line == "" {
				cur = nil
			}
			continue
		}
		field, value, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("corpus.txt:%d: no field in %q", n, line)
		}
		value = strings.TrimSpace(value)
		if field == "stmt" {
			out = append(out, corpusCase{line: n, stmt: strings.ReplaceAll(value, "$V384", vector384()), live: true})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			t.Fatalf("corpus.txt:%d: %s before a stmt", n, field)
		}
		switch field {
		case "access":
			cur.access = value
		case "refused":
			cur.refused = value
		case "findings":
			if value != "-" {
				cur.findings = strings.Split(value, ",")
			}
		case "ddl":
			cur.ddl = value
		case "retry":
			cur.retry = value == "yes"
		case "live":
			cur.live = !strings.HasPrefix(value, "no")
		default:
			t.Fatalf("corpus.txt:%d: unknown field %s", n, field)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func corpusAnalyzer(t testing.TB, keyspace string) *analyze.Analyzer {
	t.Helper()
	script, err := os.ReadFile("testdata/schema.cql")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := analyze.SchemaFromCQL(keyspace, string(script))
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// codes returns the finding codes of r and of a batch's statements, sorted, once each.
func codes(r *analyze.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	for _, s := range r.Statements {
		out = append(out, codes(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func ddls(r *analyze.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Fix != nil {
			out = append(out, f.Fix.DDL...)
		}
	}
	for _, s := range r.Statements {
		out = append(out, ddls(s)...)
	}
	return out
}

// TestCorpus checks the analyzer's verdict on every statement of the corpus: access
// path, refusal and its reason, findings, and the DDL of the fixes.
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 60 {
		t.Fatalf("the corpus has %d statements, want at least 60", len(cases))
	}
	a := corpusAnalyzer(t, "shop")
	seen := map[string]bool{}
	for _, c := range cases {
		r := a.Analyze(c.stmt, analyze.Options{Idempotent: c.retry})
		name := "corpus.txt:" + itoa(c.line)
		if r.Error != "" {
			t.Errorf("%s: %s does not parse: %s", name, c.stmt, r.Error)
			continue
		}
		seen[string(r.Access)] = true
		for _, code := range codes(r) {
			seen[code] = true
		}
		if c.access != "" && string(r.Access) != c.access {
			t.Errorf("%s: access %q, want %q\n%s", name, r.Access, c.access, c.stmt)
		}
		switch {
		case c.refused == "no" && r.Refused:
			t.Errorf("%s: refused (%s), want accepted\n%s", name, r.Reason, c.stmt)
		case c.refused != "no" && !r.Refused:
			t.Errorf("%s: accepted, want refused (%s)\n%s", name, c.refused, c.stmt)
		case c.refused != "no" && !strings.Contains(r.Reason, c.refused):
			t.Errorf("%s: refused for %q, want a reason containing %q", name, r.Reason, c.refused)
		}
		if got := codes(r); !slices.Equal(got, c.findings) {
			t.Errorf("%s: findings %v, want %v\n%s", name, got, c.findings, c.stmt)
		}
		if c.ddl != "" && !slices.ContainsFunc(ddls(r), func(d string) bool { return strings.Contains(d, c.ddl) }) {
			t.Errorf("%s: no fix DDL contains %q; got %q", name, c.ddl, ddls(r))
		}
		for _, d := range ddls(r) {
			if _, err := analyze.Parse(d); err != nil {
				t.Errorf("%s: fix DDL does not parse: %v\n%s", name, err, d)
			}
		}
	}
	for _, want := range []string{"single_partition", "multi_partition", "token_range", "index", "ann", "filtering_scan", "full_scan",
		"ALLOW_FILTERING", "LARGE_IN", "UNBOUNDED_PARTITION", "FULL_TABLE_SCAN", "SCAN_WITHOUT_LIMIT", "NON_IDEMPOTENT", "NON_IDEMPOTENT_RETRIED", "ANN_LIMIT"} {
		if !seen[want] {
			t.Errorf("no corpus statement exercises %s", want)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
