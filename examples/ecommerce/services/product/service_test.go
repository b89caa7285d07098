package product_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// catalogue is the tests' products: three or four of each category.
var catalogue = []product.Product{
	{ID: "chair-1", Name: "Oak dining chair", Category: "furniture", Brand: "Nordhaus", PriceCents: 8900, Description: "A solid oak chair with a curved backrest, for the dining table."},
	{ID: "chair-2", Name: "Ergonomic office chair", Category: "furniture", Brand: "Sitwell", PriceCents: 24900, Description: "Adjustable seat height, lumbar support and armrests for long days at the desk."},
	{ID: "sofa-1", Name: "Three-seat sofa", Category: "furniture", Brand: "Nordhaus", PriceCents: 69900, Description: "A deep, soft couch in grey linen for the living room."},
	{ID: "desk-1", Name: "Standing desk", Category: "furniture", Brand: "Sitwell", PriceCents: 39900, Description: "An electric height-adjustable desk with a bamboo top."},
	{ID: "lamp-1", Name: "Brass desk lamp", Category: "lighting", Brand: "Lumen", PriceCents: 5900, Description: "A brass lamp with an adjustable arm to light your desk."},
	{ID: "lamp-2", Name: "Reading floor lamp", Category: "lighting", Brand: "Lumen", PriceCents: 12900, Description: "A tall lamp with a warm light for reading in an armchair."},
	{ID: "bulb-1", Name: "Smart LED bulb", Category: "lighting", Brand: "Brightly", PriceCents: 1900, Description: "A colour-changing bulb you control from your phone."},
	{ID: "kettle-1", Name: "Electric kettle", Category: "kitchen", Brand: "Boilo", PriceCents: 3900, Description: "Boils a litre of water for tea in three minutes."},
	{ID: "pan-1", Name: "Cast iron frying pan", Category: "kitchen", Brand: "Ironware", PriceCents: 4500, Description: "A heavy skillet for searing steak and frying eggs."},
	{ID: "knife-1", Name: "Chef's knife", Category: "kitchen", Brand: "Ironware", PriceCents: 7900, Description: "A sharp steel blade for chopping vegetables and slicing meat."},
	{ID: "phones-1", Name: "Noise-cancelling headphones", Category: "audio", Brand: "Sonor", PriceCents: 29900, Description: "Over-ear wireless headphones that block out the noise of planes and trains."},
	{ID: "speaker-1", Name: "Portable speaker", Category: "audio", Brand: "Sonor", PriceCents: 9900, Description: "A waterproof bluetooth speaker for music at the beach."},
}

func ids(hits []product.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Product.ID)
	}
	return out
}

// TestSearch: the catalogue of one tenant, embedded from the change feed, is
// found by meaning, by keywords and by both, within a category and a price
// range; Similar finds a product's neighbours; another tenant's products
// never show.
func TestSearch(t *testing.T) {
	f := newFixture(t)
	acme, globex := tenant.With(t.Context(), "acme"), tenant.With(t.Context(), "globex")
	f.runIndexer(t, "acme")
	f.runIndexer(t, "globex")
	var all []string
	for _, p := range catalogue {
		if err := f.svc.Put(acme, p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.ID)
	}
	other := product.Product{ID: "chair-9", Name: "Folding chair", Category: "furniture", Brand: "Globex", PriceCents: 2900, Description: "A light chair that folds flat, to sit on anywhere."}
	if err := f.svc.Put(globex, other); err != nil {
		t.Fatal(err)
	}
	f.indexed(t, acme, all...)
	f.indexed(t, globex, other.ID)

	search := func(q product.Query) []product.Hit {
		t.Helper()
		hits, err := f.svc.Search(acme, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		for _, h := range hits {
			if h.Product.ID == other.ID {
				t.Errorf("%+v: another tenant's product returned", q)
			}
		}
		return hits
	}
	for _, tc := range []struct {
		q    product.Query
		top  []string // the first hit is one of these
		only func(p product.Product) bool
	}{
		{q: product.Query{Text: "something comfortable to sit on", Mode: product.Semantic, Limit: 3}, top: []string{"chair-1", "chair-2", "sofa-1"}},
		{q: product.Query{Text: "make a cup of tea", Mode: product.Semantic, Limit: 3}, top: []string{"kettle-1"}},
		{q: product.Query{Text: "listen to music", Mode: product.Semantic, Limit: 3}, top: []string{"speaker-1", "phones-1"}},
		{q: product.Query{Text: "desk lamp", Mode: product.Keyword, Limit: 5}, top: []string{"lamp-1"}},
		{q: product.Query{Text: "lamps", Mode: product.Keyword}, top: []string{"lamp-1", "lamp-2"}, only: func(p product.Product) bool { return p.Category == "lighting" }},
		{q: product.Query{Text: "a lamp for reading a book", Limit: 3}, top: []string{"lamp-2"}},
		{q: product.Query{Text: "light", Category: "lighting"}, top: []string{"lamp-1", "lamp-2", "bulb-1"}, only: func(p product.Product) bool { return p.Category == "lighting" }},
		{q: product.Query{Text: "cooking", Category: "kitchen", MaxPriceCents: 5000}, top: []string{"pan-1", "kettle-1"}, only: func(p product.Product) bool { return p.Category == "kitchen" && p.PriceCents <= 5000 }},
		{q: product.Query{Text: "furniture", MinPriceCents: 30000, Mode: product.Semantic}, top: []string{"sofa-1", "desk-1"}, only: func(p product.Product) bool { return p.PriceCents >= 30000 }},
	} {
		hits := search(tc.q)
		if len(hits) == 0 || !slices.Contains(tc.top, hits[0].Product.ID) {
			t.Errorf("%q (%s): %v, want first one of %v", tc.q.Text, tc.q.Mode, ids(hits), tc.top)
		}
		for _, h := range hits {
			if tc.only != nil && !tc.only(h.Product) {
				t.Errorf("%q: %s does not pass the filter", tc.q.Text, h.Product.ID)
			}
		}
	}
	sim, err := f.svc.Similar(acme, "chair-1", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids(sim), "chair-1") || len(sim) != 2 || !slices.Contains([]string{"chair-2", "sofa-1"}, sim[0].Product.ID) {
		t.Errorf("similar to chair-1: %v", ids(sim))
	}
	hits, err := f.svc.Search(globex, product.Query{Text: "chair"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(hits); !slices.Equal(got, []string{other.ID}) {
		t.Errorf("globex's search: %v, want only its own chair", got)
	}
}

// TestEmbedOnce: a product is embedded again only when its text changes; a
// price change, or the same text written again, embeds nothing; a deleted
// product leaves the search.
func TestEmbedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := tenant.With(t.Context(), "acme")
	f.runIndexer(t, "acme")
	p := catalogue[7]
	if err := f.svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	f.indexed(t, ctx, p.ID)
	first, _, err := f.svc.Indexed(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.PriceCents = 3500
	if err := f.svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Description = "Boils water fast; a steel kettle with a blue light."
	if err := f.svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 2*time.Minute, "the new description embedded", func() bool {
		hash, ok, err := f.svc.Indexed(ctx, p.ID)
		return err == nil && ok && hash != first
	})
	if n := f.inner.count("Boils a litre"); n != 1 {
		t.Errorf("the first text was embedded %d times, want once", n)
	}
	if n := f.inner.count("a blue light"); n != 1 {
		t.Errorf("the new text was embedded %d times, want once", n)
	}
	hits, err := f.svc.Search(ctx, product.Query{Text: "kettle", Mode: product.Keyword})
	if err != nil || len(hits) != 1 || hits[0].Product.PriceCents != 3500 {
		t.Fatalf("keyword search: %+v, %v: want the kettle at its new price", hits, err)
	}
	if err := f.svc.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 2*time.Minute, "the deleted product out of the search table", func() bool {
		_, ok, err := f.svc.Indexed(ctx, p.ID)
		return err == nil && !ok
	})
}

// TestIndexerRangeDelete: a delete of a range of a shelf, and of a whole
// shelf, made with Query.Delete on the products table, takes those products
// out of the search table and no others, and the indexer goes on.
func TestIndexerRangeDelete(t *testing.T) {
	f := newFixture(t)
	ctx := tenant.With(t.Context(), "acme")
	f.runIndexer(t, "acme")
	for _, p := range catalogue[:6] { // chair-1, chair-2, sofa-1, desk-1, lamp-1, lamp-2: one shelf
		if err := f.svc.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	f.indexed(t, ctx, "chair-1", "chair-2", "sofa-1", "desk-1", "lamp-1", "lamp-2")
	out := func(what string, ids ...string) {
		t.Helper()
		testenv.WaitUntil(t, 2*time.Minute, what, func() bool {
			for _, id := range ids {
				if _, ok, err := f.svc.Indexed(ctx, id); err != nil || ok {
					return false
				}
			}
			return true
		})
	}
	if err := f.svc.DeleteShelf(ctx, 0, "lamp"); err != nil {
		t.Fatal(err)
	}
	out("lamp-1, lamp-2 and sofa-1 out of the search table", "lamp-1", "lamp-2", "sofa-1")
	if err := f.svc.Put(ctx, catalogue[6]); err != nil { // bulb-1, after the delete
		t.Fatal(err)
	}
	f.indexed(t, ctx, "bulb-1")
	for _, id := range []string{"chair-1", "chair-2", "desk-1"} {
		if _, ok, err := f.svc.Indexed(ctx, id); err != nil || !ok {
			t.Errorf("%s, before the range deleted, not indexed after the delete: %v", id, err)
		}
	}
	if err := f.svc.DeleteShelf(ctx, 0, ""); err != nil {
		t.Fatal(err)
	}
	out("the whole shelf out of the search table", "chair-1", "chair-2", "desk-1", "bulb-1")
}

// TestRefusals: bad requests are refused before anything is sent, naming the
// field; the HTTP API answers 400 and 404.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := tenant.With(t.Context(), "acme")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"no id", f.svc.Put(ctx, product.Product{Name: "x"})},
		{"no name", f.svc.Put(ctx, product.Product{ID: "x"})},
		{"negative price", f.svc.Put(ctx, product.Product{ID: "x", Name: "x", PriceCents: -1})},
		{"bad utf-8", f.svc.Put(ctx, product.Product{ID: "x", Name: "\xff"})},
		{"empty query", func() error { _, err := f.svc.Search(ctx, product.Query{}); return err }()},
		{"bad mode", func() error { _, err := f.svc.Search(ctx, product.Query{Text: "x", Mode: "fuzzy"}); return err }()},
		{"limit", func() error { _, err := f.svc.Search(ctx, product.Query{Text: "x", Limit: 1000}); return err }()},
		{"price range", func() error {
			_, err := f.svc.Search(ctx, product.Query{Text: "x", MinPriceCents: 10, MaxPriceCents: 5})
			return err
		}()},
	} {
		if !errors.Is(tc.err, product.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, tc.err)
		}
	}
	if _, err := f.svc.Get(t.Context(), "x"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
	h := f.svc.Handler()
	for path, want := range map[string]int{
		"/products/nope":              http.StatusNotFound,
		"/search?q=lamp&limit=x":      http.StatusBadRequest,
		"/search?q=lamp&mode=fuzzy":   http.StatusBadRequest,
		"/search?q=lamp&mode=keyword": http.StatusOK,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
		var body map[string]any
		if rec.Code != want || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
			t.Errorf("GET %s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
}
