package analyze_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/analyze"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"select * from t where a = 1 and b = 'x'", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{"SELECT * FROM t WHERE a IN (1, 2, 3) -- c\n LIMIT 5", "SELECT * FROM t WHERE a IN (?) LIMIT ?"},
		{`SELECT "Mixed" FROM ks.t WHERE id = 123e4567-e89b-12d3-a456-426614174000 AND b = 0xcafe`, `SELECT "Mixed" FROM ks.t WHERE id = ? AND b = ?`},
		{"SELECT * FROM p ORDER BY e ANN OF [0.1, 0.2, 0.3] LIMIT 10", "SELECT * FROM p ORDER BY e ANN OF [?] LIMIT ?"},
		{"UPDATE c SET n = n + 1 WHERE k = :key", "UPDATE c SET n = n + ? WHERE k = ?"},
	} {
		if got := analyze.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if analyze.Normalize("SELECT * FROM t WHERE a = 1") != analyze.Normalize("select *  from t where a=2") {
		t.Error("statements differing in a literal and spacing normalise differently")
	}
}

type slowItem struct {
	Shop      string    `cql:"shop" orm:"pk"`
	SKU       string    `cql:"sku" orm:"ck"`
	Category  string    `cql:"category" orm:"index"`
	Name      string    `cql:"name"`
	Embedding []float32 `cql:"embedding" orm:"vector=3,index"`
}

// TestSlowLogOnTheORMsStatements records what the ORM runs for CRUD, an indexed
// query, an ANN search and paging, ranks it, and checks that the analysis of every
// statement the ORM built finds no filtering scan and no refusal.
func TestSlowLogOnTheORMsStatements(t *testing.T) {
	ctx := t.Context()
	setup, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	items0, err := orm.NewModel[slowItem](setup)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.Sync(ctx, items0); err != nil {
		t.Fatal(err)
	}
	schema, err := analyze.LoadSchema(ctx, env.Session(t), env.Keyspace())
	if err != nil {
		t.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := analyze.NewSlowLog(a, analyze.SlowLogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := orm.New(env.Session(t), env.Keyspace(), log)
	if err != nil {
		t.Fatal(err)
	}
	items, err := orm.NewModel[slowItem](db)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				it := slowItem{Shop: "s1", SKU: string(rune('a'+g)) + string(rune('a'+i)), Category: "c", Name: "n", Embedding: []float32{float32(i + 1), 1, 0}}
				if err := items.Insert(ctx, &it); err != nil {
					t.Error(err)
					return
				}
				if _, err := items.Get(ctx, it.Shop, it.SKU); err != nil {
					t.Error(err)
				}
				it.Name = "m"
				if err := items.Update(ctx, &it); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, q := range []orm.Query[slowItem]{
		items.Query().Where(orm.Eq("shop", "s1")).Limit(5),
		items.Query().Where(orm.Eq("category", "c")).Limit(5),
		items.Query().NearestTo("embedding", []float32{1, 1, 0}).Limit(3),
	} {
		for _, err := range q.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := items.Query().Where(orm.Eq("shop", "s1")).Limit(7).Page(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := items.Delete(ctx, "s1", "aa"); err != nil {
		t.Fatal(err)
	}
	top := log.Top(0)
	if len(top) < 5 {
		t.Fatalf("%d statements recorded, want at least 5: %+v", len(top), top)
	}
	var inserts int64
	for i, s := range top {
		t.Logf("%d × %s: total %s, mean %s, p99 %s, access %s, findings %d", s.Count, s.Statement, s.Total, s.Mean, s.P99, s.Report.Access, len(s.Report.Findings))
		if i > 0 && s.Total > top[i-1].Total {
			t.Errorf("not ranked by total time: %s after %s", s.Total, top[i-1].Total)
		}
		if s.P99 <= 0 || s.Mean <= 0 || s.P99 > s.Total {
			t.Errorf("%s: mean %s p99 %s total %s", s.Statement, s.Mean, s.P99, s.Total)
		}
		r := s.Report
		if r.Error != "" || r.Refused || r.Access == analyze.FilteringScan || r.Filtering {
			t.Errorf("the ORM's statement %s: error %q refused %v access %s filtering %v", s.Statement, r.Error, r.Refused, r.Access, r.Filtering)
		}
		if r.Kind == "INSERT" {
			inserts += s.Count
		}
	}
	if inserts != 40 {
		t.Errorf("%d inserts recorded, want 40", inserts)
	}
}

// The log keeps at most MaxStatements statements, dropping the cheapest.
func TestSlowLogIsBounded(t *testing.T) {
	a := corpusAnalyzer(t, "shop")
	log, err := analyze.NewSlowLog(a, analyze.SlowLogConfig{MaxStatements: 3, Samples: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i, table := range []string{"users", "products", "orders", "events", "product_views"} {
		for range 10 {
			log.ObserveQuery(context.Background(), orm.QueryEvent{Statement: "SELECT * FROM " + table + " LIMIT 1", Latency: time.Duration(i+1) * time.Millisecond})
		}
	}
	top := log.Top(0)
	if len(top) != 3 {
		t.Fatalf("%d statements kept, want 3", len(top))
	}
	if top[0].Statement != "SELECT * FROM product_views LIMIT ?" || top[0].Count != 10 || top[0].Total != 50*time.Millisecond {
		t.Errorf("top = %+v", top[0])
	}
	if _, err := analyze.NewSlowLog(a, analyze.SlowLogConfig{MaxStatements: -1}); err == nil {
		t.Error("a negative MaxStatements was accepted")
	}
}
