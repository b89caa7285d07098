package product_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// TestRecommend: after a training job, a user who bought the office chair gets
// what its other buyers bought, never what they bought themselves; a user who
// only looked at the kettle (which nobody bought with anything) gets the
// products nearest to it by meaning; a new user gets the popular products.
func TestRecommend(t *testing.T) {
	f := newFixtureWith(t, &recommend.Config{Bucket: "test-" + time.Now().Format("150405.000")})
	ctx := tenant.With(t.Context(), "acme")
	f.runIndexer(t, "acme")
	var all []string
	for _, p := range catalogue {
		if err := f.svc.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.ID)
	}
	f.indexed(t, ctx, all...)
	user := func(name string) string { return name + "-" + t.Name() + time.Now().Format("150405.000") }
	ann, bob, cy, dee, newcomer := user("ann"), user("bob"), user("cy"), user("dee"), user("new")
	at := time.Now().Add(-time.Hour)
	for i, in := range []recommend.Interaction{
		{UserID: ann, ItemID: "chair-2", Kind: recommend.Purchase},
		{UserID: ann, ItemID: "desk-1", Kind: recommend.Purchase},
		{UserID: bob, ItemID: "chair-2", Kind: recommend.Purchase},
		{UserID: bob, ItemID: "desk-1", Kind: recommend.Cart},
		{UserID: bob, ItemID: "lamp-1", Kind: recommend.Purchase},
		{UserID: cy, ItemID: "chair-2", Kind: recommend.Purchase},
		{UserID: dee, ItemID: "kettle-1", Kind: recommend.View},
	} {
		in.At = at.Add(time.Duration(i) * time.Second)
		if err := f.svc.Record(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Train(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(u string) []string {
		t.Helper()
		hits, err := f.svc.Recommend(ctx, u, 3)
		if err != nil {
			t.Fatal(err)
		}
		return ids(hits)
	}
	if got := get(cy); len(got) == 0 || got[0] != "desk-1" || slices.Contains(got, "chair-2") {
		t.Errorf("cy (bought the office chair): %v, want the desk first and not the chair", got)
	}
	if got := get(ann); slices.Contains(got, "chair-2") || slices.Contains(got, "desk-1") || len(got) == 0 || got[0] != "lamp-1" {
		t.Errorf("ann: %v, want the lamp first and nothing she bought", got)
	}
	// dee's only signal is content: the kettle itself and its nearest
	// products by meaning (views are not excluded; purchases are).
	near, err := f.svc.Similar(ctx, "kettle-1", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := get(dee), append([]string{"kettle-1"}, ids(near)[:2]...); !slices.Equal(got, want) {
		t.Errorf("dee (viewed the kettle): %v, want the kettle and its nearest products %v", got, want)
	}
	if got := get(newcomer); len(got) == 0 || got[0] != "chair-2" {
		t.Errorf("a new user: %v, want the most popular product first", got)
	}
	plain := newFixture(t)
	if _, err := plain.svc.Recommend(ctx, ann, 3); !errors.Is(err, product.ErrNoRecommender) {
		t.Errorf("without a recommender: %v", err)
	}
	if err := f.svc.Record(ctx, recommend.Interaction{UserID: ann, ItemID: "x", Kind: "stare"}); err == nil {
		t.Error("an interaction of an unknown kind was recorded")
	}
}
