package recommend_test

import (
	"context"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// product is a catalogue row with an embedding, shared by all tenants.
type product struct {
	ID        string    `cql:"id" orm:"pk"`
	Embedding []float32 `cql:"embedding" orm:"vector=3,index,similarity=cosine"`
}

var catalogue = map[string][]float32{
	"P1": {1, 0, 0},
	"P2": {0.9, 0.1, 0},
	"P3": {0, 1, 0},
	"P4": {0.1, 0, 1},
}

func TestContentFromVectorIndex(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-content")
	db := openDB(t)
	products, err := orm.NewModel[product](db, orm.TableName("content_products"), orm.WithScope(orm.GlobalScope))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, products); err != nil {
		t.Fatal(err)
	}
	for id, v := range catalogue {
		if err := products.Insert(ctx, &product{ID: id, Embedding: v}); err != nil {
			t.Fatal(err)
		}
	}
	src := recommend.VectorContent[product]{
		Model: products, Column: "embedding",
		Key: func(item string) []any { return []any{item} },
		ID:  func(p product) string { return p.ID },
	}
	mem, err := recommend.NewMemoryContent("cosine", catalogue)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		seeds []string
		want  string
	}{
		{"one seed", []string{"P1"}, "P1,P2,P4,P3"},
		{"mean of two", []string{"P1", "P3"}, "P2,P1,P3,P4"},
		{"unknown items are left out", []string{"nope", "P3"}, "P3,P2,P1,P4"},
		{"no known item: nothing", []string{"nope"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, s := range map[string]recommend.ContentSource{"vector index": src, "memory": mem} {
				got, err := s.Similar(ctx, tc.seeds, 10)
				if err != nil {
					t.Fatal(err)
				}
				if items(got) != tc.want {
					t.Errorf("%s: Similar(%v) = %v, want %s", name, tc.seeds, got, tc.want)
				}
			}
		})
	}

	// The content model in Recommend: the user bought P1, so P1 is out and
	// its nearest, P2, leads.
	r, err := recommend.New(db, recommend.Config{Weights: recommend.Weights{Content: 1}}, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Record(ctx, recommend.Interaction{UserID: "c1", ItemID: "P1", Kind: recommend.Purchase}); err != nil {
		t.Fatal(err)
	}
	got, err := r.Recommend(ctx, "c1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if items(got) != "P2,P4" {
		t.Errorf("Recommend(c1) with content only = %v, want P2,P4", got)
	}
}
