package analyze_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/analyze"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// createCorpusSchema creates testdata/schema.cql in the package's keyspace once and
// returns the session.
func createCorpusSchema(t *testing.T) *gocql.Session {
	t.Helper()
	s := env.Session(t)
	script, err := os.ReadFile("testdata/schema.cql")
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := analyze.ParseScript(string(script))
	if err != nil {
		t.Fatal(err)
	}
	indexes := 0
	for _, st := range stmts {
		text := strings.Replace(st.Text(), "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
		text = strings.Replace(text, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
		if err := s.Query(text).ExecContext(t.Context()); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if st.Kind() == "CREATE INDEX" {
			indexes++
		}
	}
	waitQueryable(t, s, indexes)
	return s
}

// waitQueryable waits until at least n SAI indexes of the keyspace are queryable: an
// index just created answers INDEX_NOT_AVAILABLE until its (empty) build is done.
func waitQueryable(t *testing.T, s *gocql.Session, n int) {
	t.Helper()
	testenv.WaitFor(t, 6*time.Minute, func() error {
		iter := s.Query(`SELECT index_name, is_queryable FROM system_views.sai_column_indexes WHERE keyspace_name = ?`, env.Keyspace()).IterContext(t.Context())
		var (
			name      string
			queryable bool
			ready     int
		)
		for iter.Scan(&name, &queryable) {
			if queryable {
				ready++
			}
		}
		if err := iter.Close(); err != nil {
			return err
		}
		if ready < n {
			return fmt.Errorf("%d of %d SAI indexes queryable", ready, n)
		}
		return nil
	})
}

// serverRefuses runs cql and reports whether the node refused it as invalid.
func serverRefuses(ctx context.Context, s *gocql.Session, cql string) (bool, string, error) {
	err := s.Query(cql).PageSize(5000).ExecContext(ctx)
	var re gocql.RequestError
	if errors.As(err, &re) && (re.Code() == gocql.ErrCodeInvalid || re.Code() == gocql.ErrCodeSyntax) {
		return true, re.Message(), nil
	}
	return false, "", err
}

// TestCorpusAgainstTheNode runs every corpus statement the analyzer can judge with
// literals on the live node (Cassandra 5.0) and checks that the server refuses
// exactly the statements the analyzer says it refuses, for the reason it gives.
func TestCorpusAgainstTheNode(t *testing.T) {
	s := createCorpusSchema(t)
	a := corpusAnalyzer(t, env.Keyspace())
	ran := 0
	for _, c := range loadCorpus(t) {
		if !c.live {
			continue
		}
		r := a.Analyze(c.stmt, analyze.Options{})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		refused, msg, err := serverRefuses(ctx, s, c.stmt)
		cancel()
		if err != nil {
			t.Errorf("corpus.txt:%d: the node failed: %v\n%s", c.line, err, c.stmt)
			continue
		}
		ran++
		switch {
		case refused != r.Refused:
			t.Errorf("corpus.txt:%d: the node refused=%v (%s), the analyzer refused=%v (%s)\n%s", c.line, refused, msg, r.Refused, r.Reason, c.stmt)
		case refused && r.Kind != "BATCH" && !strings.Contains(msg, c.refused) && !strings.Contains(strings.ToLower(msg), strings.ToLower(c.refused)):
			t.Errorf("corpus.txt:%d: the node refused with %q, the corpus expects %q", c.line, msg, c.refused)
		}
	}
	t.Logf("%d corpus statements run on the node", ran)
	if ran < 60 {
		t.Errorf("only %d corpus statements ran on the node", ran)
	}
}

// TestLoadSchema reads the corpus schema back from the node: columns, kinds,
// clustering order and SAI indexes with their similarity function; and the
// statistics views the node has.
func TestLoadSchema(t *testing.T) {
	s := createCorpusSchema(t)
	schema, err := analyze.LoadSchema(t.Context(), s, env.Keyspace())
	if err != nil {
		t.Fatal(err)
	}
	orders, ok := schema.Table(analyze.Name{Table: "orders"})
	if !ok {
		t.Fatalf("no orders table in %v", schema.Tables)
	}
	var got []string
	for _, c := range orders.Columns {
		got = append(got, c.Name+":"+string(c.Kind))
	}
	want := "tenant:partition_key user_id:partition_key created:clustering order_id:clustering region:static Channel:regular items:regular notes:regular status:regular total:regular"
	if strings.Join(got, " ") != want {
		t.Errorf("orders columns\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if c, _ := orders.Column("created"); !c.Descending || c.Type != "timeuuid" {
		t.Errorf("created = %+v, want a descending timeuuid", c)
	}
	products, _ := schema.Table(analyze.Name{Table: "products"})
	found := map[string]analyze.Index{}
	for _, ix := range products.Indexes {
		found[ix.Name] = ix
	}
	if ix := found["products_embedding"]; !ix.SAI || ix.Column != "embedding" || ix.Similarity != "dot_product" {
		t.Errorf("products_embedding = %+v", ix)
	}
	if ix := found["products_attrs"]; ix.Target != "keys" || ix.Column != "attrs" {
		t.Errorf("products_attrs = %+v", ix)
	}
	if c, _ := products.Column("embedding"); c.Type != "vector<float, 384>" {
		t.Errorf("embedding type %q", c.Type)
	}
	// The live schema gives the analyzer the same verdicts as the script.
	offline := corpusAnalyzer(t, env.Keyspace())
	live, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range loadCorpus(t) {
		x, y := offline.Analyze(c.stmt, analyze.Options{Idempotent: c.retry}), live.Analyze(c.stmt, analyze.Options{Idempotent: c.retry})
		if x.Access != y.Access || x.Refused != y.Refused || strings.Join(codes(x), ",") != strings.Join(codes(y), ",") {
			t.Errorf("corpus.txt:%d: live schema gives %s/%v/%v, the script %s/%v/%v", c.line, y.Access, y.Refused, codes(y), x.Access, x.Refused, codes(x))
		}
	}
	// Statistics: write some rows and read them so rows_per_read has a figure.
	for i := range 20 {
		if err := s.Query(`INSERT INTO events (tenant, day, at, kind) VALUES (?, ?, ?, ?)`, "stats", "2026-12-04", time.UnixMilli(int64(i)), "k").ExecContext(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 30*time.Second, func() error {
		iter := s.Query(`SELECT * FROM events WHERE tenant = ? AND day = ?`, "stats", "2026-12-04").IterContext(t.Context())
		n := iter.NumRows()
		if err := iter.Close(); err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no rows yet")
		}
		return nil
	})
	if err := analyze.LoadStats(t.Context(), s, schema); err != nil {
		t.Fatal(err)
	}
	st := schema.Stats[env.Keyspace()+".events"]
	if st == nil || st.RowsPerReadP50 == nil {
		t.Fatalf("events stats %+v: want rows_per_read after a read", st)
	}
	r := live.Analyze(`SELECT * FROM events WHERE tenant = 'stats' AND day = '2026-12-04'`, analyze.Options{})
	if r.Estimate == nil || r.Estimate.Partitions != 1 {
		t.Fatalf("estimate %+v", r.Estimate)
	}
	t.Logf("events: %d partitions estimated, rows_per_read p50 %.1f p99 %.1f; estimate %+v", st.Partitions, *st.RowsPerReadP50, *st.RowsPerReadP99, *r.Estimate)
}

// TestFixDDLOnTheNode runs every DDL the corpus's fixes propose (the index names
// quoted as they are) on the node: each is valid CQL the server accepts. It runs
// after the tests that compare the node's schema with the script.
func TestFixDDLOnTheNode(t *testing.T) {
	s := createCorpusSchema(t)
	a := corpusAnalyzer(t, env.Keyspace())
	seen := map[string]bool{}
	for _, c := range loadCorpus(t) {
		for _, d := range ddls(a.Analyze(c.stmt, analyze.Options{Idempotent: c.retry})) {
			if seen[d] {
				continue
			}
			seen[d] = true
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			err := s.Query(d).ExecContext(ctx)
			cancel()
			if err != nil {
				t.Errorf("corpus.txt:%d: the node refuses the fix %s: %v", c.line, d, err)
			}
		}
	}
	t.Logf("%d distinct fix DDL statements accepted by the node", len(seen))
	if len(seen) < 10 {
		t.Errorf("only %d fix DDL statements", len(seen))
	}
}
