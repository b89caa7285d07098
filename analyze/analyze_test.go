package analyze_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/analyze"
)

func ptr[T any](v T) *T { return &v }

// The thresholds are configurable, and the estimates come from the table's figures.
func TestConfigAndEstimates(t *testing.T) {
	schema, err := analyze.SchemaFromCQL("shop", `CREATE TABLE events (tenant text, day date, at timestamp, kind text, PRIMARY KEY ((tenant, day), at))`)
	if err != nil {
		t.Fatal(err)
	}
	schema.Stats = map[string]*analyze.TableStats{"shop.events": {
		Partitions: 1000, MeanPartitionBytes: 4096, RowsPerReadP50: ptr(40.0), RowsPerReadP99: ptr(400.0), TombstonesPerReadP99: ptr(1500.0),
	}}
	for _, tc := range []struct {
		name       string
		cfg        analyze.Config
		cql        string
		want       []string
		partitions int64
		rows       int64
		bytes      int64
	}{
		{"tombstones from the node", analyze.Config{}, "SELECT * FROM events WHERE tenant = 'a' AND day = '2026-12-04' LIMIT 10",
			[]string{"TOMBSTONE_HEAVY"}, 1, 10, 4096},
		{"a higher tombstone threshold", analyze.Config{TombstoneWarn: 2000}, "SELECT * FROM events WHERE tenant = 'a' AND day = '2026-12-04' LIMIT 100",
			nil, 1, 40, 4096},
		{"IN under the threshold", analyze.Config{TombstoneWarn: 2000}, "SELECT * FROM events WHERE tenant = 'a' AND day IN ('2026-12-01', '2026-12-02', '2026-12-03') LIMIT 1000",
			nil, 3, 120, 3 * 4096},
		{"IN over a lowered threshold", analyze.Config{TombstoneWarn: 2000, LargeIN: 2}, "SELECT * FROM events WHERE tenant = 'a' AND day IN ('2026-12-01', '2026-12-02', '2026-12-03') LIMIT 1000",
			[]string{"LARGE_IN"}, 3, 120, 3 * 4096},
		{"a full scan touches every partition", analyze.Config{TombstoneWarn: 2000}, "SELECT * FROM events LIMIT 50",
			[]string{"FULL_TABLE_SCAN"}, 1000, 50, 1000 * 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := analyze.New(schema, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := a.Analyze(tc.cql, analyze.Options{})
			if got := codes(r); !slices.Equal(got, tc.want) {
				t.Errorf("findings %v, want %v", got, tc.want)
			}
			e := r.Estimate
			if e == nil || e.Partitions != tc.partitions || e.Rows != tc.rows || e.Bytes != tc.bytes {
				t.Errorf("estimate %+v, want %d partitions, %d rows, %d bytes", e, tc.partitions, tc.rows, tc.bytes)
			}
		})
	}
	// A configured tombstone count stands in for a table the node has no figure for.
	schema.Stats = nil
	a, err := analyze.New(schema, analyze.Config{Tombstones: map[string]float64{"shop.events": 5000}})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Analyze("SELECT * FROM events WHERE tenant = 'a' AND day = '2026-12-04' LIMIT 10", analyze.Options{}); !r.Has("TOMBSTONE_HEAVY") || r.Estimate != nil {
		t.Errorf("configured tombstones: findings %v, estimate %+v", codes(r), r.Estimate)
	}
	for _, bad := range []analyze.Config{{LargeIN: -1}, {TombstoneWarn: -5}} {
		if _, err := analyze.New(schema, bad); err == nil {
			t.Errorf("New accepted %+v", bad)
		}
	}
	if _, err := analyze.New(nil, analyze.Config{}); err == nil {
		t.Error("New accepted a nil schema")
	}
}

// The JSON field names are the documented ones.
func TestReportJSON(t *testing.T) {
	a := corpusAnalyzer(t, "shop")
	b, err := a.Analyze("SELECT * FROM products WHERE stock = 0 LIMIT 5", analyze.Options{}).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"statement", "kind", "table", "access", "partitions", "filtering", "refused", "reason", "idempotent", "findings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	f := m["findings"].([]any)[0].(map[string]any)
	fix := f["fix"].(map[string]any)
	if f["code"] != "FILTERING_REQUIRED" || f["severity"] != "error" || f["message"] == "" || fix["summary"] == "" || len(fix["ddl"].([]any)) == 0 {
		t.Errorf("finding %v", f)
	}
	r := a.Analyze("SELECT * FROM", analyze.Options{})
	if !r.Failed() || !strings.Contains(r.Error, "1:14") {
		t.Errorf("a statement that does not parse: %+v", r)
	}
	if r := a.Analyze("CREATE TABLE x (a int PRIMARY KEY)", analyze.Options{}); !r.Failed() || r.Error == "" {
		t.Errorf("a CREATE TABLE analysed: %+v", r)
	}
}

// A schema script names its errors.
func TestSchemaFromCQLErrors(t *testing.T) {
	for script, want := range map[string]string{
		"CREATE TABLE t (a int, PRIMARY KEY (b))":                      "key column b is not defined",
		"CREATE INDEX i ON t (a) USING 'sai'":                          "index i is on table t",
		"CREATE TABLE t (a int PRIMARY KEY); CREATE INDEX i ON t (zz)": "column zz",
		"CREATE TABLE t (a int PRIMARY KEY); SELECT * FROM t":          "SELECT statement",
		"CREATE TABLE t (a int)":                                       "no PRIMARY KEY",
		"CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))":   "a second PRIMARY KEY",
	} {
		if _, err := analyze.SchemaFromCQL("ks", script); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SchemaFromCQL(%q) = %v, want an error containing %q", script, err, want)
		}
	}
}
