package vector_test

import (
	"errors"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// item4 is a small vector model for the facts tests.
type item4 struct {
	ID    int       `cql:"id" orm:"pk"`
	Title string    `cql:"title"`
	Vec   []float32 `cql:"vec" orm:"vector=4,index"`
}

// TestServerFacts checks, with statements of its own sent on the driver's session,
// the server behaviour the orm and Search are built on: Cassandra 5.0.8 refuses an
// ANN LIMIT above 1000 with the message StorageAttachedIndex.ANN_LIMIT_ERROR,
// similarity_cosine is (1+cos)/2, an ANN read at QUORUM is downgraded to ONE with a
// client warning, and a zero query vector on a cosine index fails as an opaque read
// failure (which is why the orm refuses it first).
func TestServerFacts(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	m, err := orm.NewModel[item4](db, orm.TableName("facts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := m.Insert(ctx, &item4{ID: 1, Vec: []float32{1, 0, 0, 0}}); err != nil {
		t.Fatal(err)
	}
	s := env.Session(t)
	tbl := env.Keyspace() + ".facts"
	err = s.Query("SELECT id FROM " + tbl + " ORDER BY vec ANN OF [1,0,0,0] LIMIT 1001").ExecContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "requires a LIMIT that is not greater than 1000") {
		t.Errorf("LIMIT 1001: got %v, want the server's ANN limit error", err)
	}
	if err := s.Query("SELECT id FROM " + tbl + " ORDER BY vec ANN OF [0,0,0,0] LIMIT 1").ExecContext(ctx); err == nil {
		t.Errorf("zero vector under cosine: the server accepted it")
	}
	it := s.Query("SELECT id, similarity_cosine(vec, [0.6,0.8,0,0]) FROM " + tbl + " ORDER BY vec ANN OF [1,0,0,0] LIMIT 5").
		Consistency(gocql.Quorum).IterContext(ctx)
	var id int
	var score float32
	if !it.Scan(&id, &score) || id != 1 || score != 0.8 {
		t.Errorf("similarity_cosine of cos 0.6: row %d score %v, want row 1 score 0.8 = (1+0.6)/2", id, score)
	}
	warned := false
	for _, w := range it.Warnings() {
		warned = warned || strings.Contains(w, "Downgrading the consistency level to ONE")
	}
	if err := it.Close(); err != nil || !warned {
		t.Errorf("ANN read at QUORUM: err %v, warnings %q; want a downgrade warning", err, it.Warnings())
	}
}

// TestClientChecks: what Search and the orm refuse before sending, each error naming
// the table and column, and the access check on a filter the index cannot serve.
func TestClientChecks(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	m, err := orm.NewModel[item4](db, orm.TableName("checks"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, m); err != nil {
		t.Fatal(err)
	}
	nan := float32(0)
	nan /= nan
	for _, tc := range []struct {
		name string
		vec  []float32
		opts vector.SearchOptions
		want []string
		is   error
	}{
		{"limit above 1000", []float32{1, 0, 0, 0}, vector.SearchOptions{Limit: 1001}, []string{"1001", "at most 1000", "checks", "vec"}, nil},
		{"zero vector", []float32{0, 0, 0, 0}, vector.SearchOptions{}, []string{"zero vector", "checks", "vec"}, orm.ErrInvalidValue},
		{"NaN", []float32{1, nan, 0, 0}, vector.SearchOptions{}, []string{"element 1", "NaN", "checks", "vec"}, orm.ErrInvalidValue},
		{"wrong dimension", []float32{1, 0, 0}, vector.SearchOptions{}, []string{"3 elements, want 4", "vec"}, orm.ErrInvalidValue},
		{"unindexed filter", []float32{1, 0, 0, 0}, vector.SearchOptions{Where: []orm.Predicate{orm.Eq("title", "x")}},
			[]string{"title", "neither a key nor indexed"}, orm.ErrFiltering},
	} {
		_, err := vector.Search(ctx, m, "vec", tc.vec, tc.opts)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v does not say %q", tc.name, err, w)
			}
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v does not match %v", tc.name, err, tc.is)
		}
	}
	// Exact refuses the same vectors, rather than finding nothing.
	for name, vec := range map[string][]float32{"zero vector": {0, 0, 0, 0}, "NaN": {1, nan, 0, 0}, "wrong dimension": {1, 0, 0}} {
		if _, err := vector.Exact(ctx, m, "vec", vec, vector.SearchOptions{FullScan: true}); !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), "checks") {
			t.Errorf("Exact with a %s: %v, want ErrInvalidValue naming the table", name, err)
		}
	}
	if _, err := m.Query().NearestTo("vec", []float32{1, 0, 0, 0}).Limit(5).Page(ctx, ""); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Errorf("Page of an ANN query: %v, want ErrInvalidQuery (ANN results are not paged)", err)
	}
	for _, err := range m.Query().NearestTo("vec", []float32{1, 0, 0, 0}).Limit(1001).All(ctx) {
		if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "at most 1000") {
			t.Errorf("orm NearestTo Limit 1001: %v", err)
		}
	}
}

// rowOf4 is a model with a clustering column, for the row-marker fact.
type rowOf4 struct {
	P   int       `cql:"p" orm:"pk"`
	ID  int       `cql:"id" orm:"ck"`
	Cat string    `cql:"cat" orm:"index"`
	Vec []float32 `cql:"vec" orm:"vector=4,index"`
}

// TestUpdatedRowsFact checks a fact of Cassandra 5.0.8 that shapes how vector
// rows must be written: rows written by two UPDATE statements (another column
// first, then the vector; no INSERT, so no row marker) are missed by an ANN
// read restricted to their partition alone, while an ANN read of the whole
// table, or one that also filters on an indexed column, finds them. Rows
// written by one UPDATE, or by INSERT, are found by all three.
func TestUpdatedRowsFact(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	s := env.Session(t)
	for _, write := range []string{"update-twice", "update", "insert"} {
		table := "marker_" + strings.ReplaceAll(write, "-", "_")
		m, err := orm.NewModel[rowOf4](db, orm.TableName(table))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Sync(ctx, m); err != nil {
			t.Fatal(err)
		}
		tbl := env.Keyspace() + "." + table
		for i := range 5 {
			vec := []float32{1, float32(i), 0, 1}
			stmt := "UPDATE " + tbl + " SET cat = 'c', vec = ? WHERE p = 0 AND id = ?"
			switch write {
			case "insert":
				stmt = "INSERT INTO " + tbl + " (vec, id, p, cat) VALUES (?, ?, 0, 'c')"
			case "update-twice":
				if err := s.Query("UPDATE "+tbl+" SET cat = 'c' WHERE p = 0 AND id = ?", i).ExecContext(ctx); err != nil {
					t.Fatal(err)
				}
				stmt = "UPDATE " + tbl + " SET vec = ? WHERE p = 0 AND id = ?"
			}
			if err := s.Query(stmt, vec, i).ExecContext(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			where string
			want  int
		}{
			{"WHERE p = 0", map[string]int{"update-twice": 0, "update": 5, "insert": 5}[write]},
			{"", 5},
			{"WHERE p = 0 AND cat = 'c'", 5},
		} {
			it := s.Query("SELECT id FROM " + tbl + " " + tc.where + " ORDER BY vec ANN OF [1,0,0,0] LIMIT 10").IterContext(ctx)
			n := 0
			var id int
			for it.Scan(&id) {
				n++
			}
			if err := it.Close(); err != nil || n != tc.want {
				t.Errorf("rows written by %s, ANN %q: %d rows (%v), want %d", write, tc.where, n, err, tc.want)
			}
		}
	}
}

// TestAnalyzerFact checks that Cassandra 5.0.8's SAI has no text analyzers:
// an index with the index_analyzer option is refused, which is why the product
// service keeps keyword tokens of its own in an indexed set column.
func TestAnalyzerFact(t *testing.T) {
	s := env.Session(t)
	tbl := env.Keyspace() + ".analyzed"
	if err := s.Query("CREATE TABLE IF NOT EXISTS " + tbl + " (id int PRIMARY KEY, d text)").ExecContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := s.Query("CREATE INDEX IF NOT EXISTS analyzed_d ON " + tbl + " (d) USING 'sai' WITH OPTIONS = {'index_analyzer': 'standard'}").ExecContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "[index_analyzer] are not understood by StorageAttachedIndex") {
		t.Errorf("an SAI index with index_analyzer: %v, want it refused", err)
	}
}
