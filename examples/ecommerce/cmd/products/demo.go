package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// catalogue is the demo's products.
var catalogue = []product.Product{
	{ID: "chair-oak", Name: "Oak dining chair", Category: "furniture", Brand: "Nordhaus", PriceCents: 8900, Description: "A solid oak chair with a curved backrest, for the dining table."},
	{ID: "chair-office", Name: "Ergonomic office chair", Category: "furniture", Brand: "Sitwell", PriceCents: 24900, Description: "Adjustable seat height, lumbar support and armrests for long days at the desk."},
	{ID: "sofa-grey", Name: "Three-seat sofa", Category: "furniture", Brand: "Nordhaus", PriceCents: 69900, Description: "A deep, soft couch in grey linen for the living room."},
	{ID: "desk-standing", Name: "Standing desk", Category: "furniture", Brand: "Sitwell", PriceCents: 39900, Description: "A height-adjustable desk with a bamboo top."},
	{ID: "lamp-desk", Name: "Brass desk lamp", Category: "lighting", Brand: "Lumen", PriceCents: 5900, Description: "A brass lamp with an adjustable arm to light your desk."},
	{ID: "lamp-floor", Name: "Reading floor lamp", Category: "lighting", Brand: "Lumen", PriceCents: 12900, Description: "A tall lamp with a warm light for reading in an armchair."},
	{ID: "bulb-smart", Name: "Smart LED bulb", Category: "lighting", Brand: "Brightly", PriceCents: 1900, Description: "A colour-changing bulb you control from your phone."},
	{ID: "kettle", Name: "Electric kettle", Category: "kitchen", Brand: "Boilo", PriceCents: 3900, Description: "Boils a litre of water for tea in three minutes."},
	{ID: "pan-iron", Name: "Cast iron frying pan", Category: "kitchen", Brand: "Ironware", PriceCents: 4500, Description: "A heavy skillet for searing steak and frying eggs."},
	{ID: "knife-chef", Name: "Chef's knife", Category: "kitchen", Brand: "Ironware", PriceCents: 7900, Description: "A sharp steel blade for chopping vegetables and slicing meat."},
	{ID: "headphones", Name: "Noise-cancelling headphones", Category: "audio", Brand: "Sonor", PriceCents: 29900, Description: "Over-ear wireless headphones that block out the noise of planes and trains."},
	{ID: "speaker", Name: "Portable speaker", Category: "audio", Brand: "Sonor", PriceCents: 9900, Description: "A waterproof bluetooth speaker for music at the beach."},
}

// purchases are the demo users' orders: who bought what with what.
var purchases = map[string][]string{
	"demo-ann": {"chair-office", "desk-standing", "lamp-desk"},
	"demo-bob": {"chair-office", "desk-standing"},
	"demo-cy":  {"chair-office"},
	"demo-dee": {"kettle", "pan-iron"},
}

// runDemo writes the catalogue and the purchases, waits for the indexer, trains
// the recommender and prints what the service finds.
func runDemo(ctx context.Context, svc *product.Service, out io.Writer) error {
	for _, p := range catalogue {
		if err := svc.Put(ctx, p); err != nil {
			return err
		}
	}
	at := time.Now().Add(-time.Hour)
	for user, items := range purchases {
		for i, item := range items {
			in := recommend.Interaction{UserID: user, ItemID: item, Kind: recommend.Purchase, At: at.Add(time.Duration(i) * time.Second)}
			if err := svc.Record(ctx, in); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "products: %d written; waiting for the search indexer (the change feed's lag, then MiniLM) ...\n", len(catalogue))
	if err := indexed(ctx, svc); err != nil {
		return err
	}
	if _, err := svc.Train(ctx); err != nil {
		return err
	}
	for _, q := range []product.Query{
		{Text: "something comfortable to sit on", Mode: product.Semantic, Limit: 3},
		{Text: "desk lamp", Mode: product.Hybrid, Limit: 3},
		{Text: "cooking", Mode: product.Hybrid, Category: "kitchen", MaxPriceCents: 5000, Limit: 3},
	} {
		hits, err := svc.Search(ctx, q)
		if err != nil {
			return err
		}
		filter := ""
		if q.Category != "" {
			filter = fmt.Sprintf(" [category %s, at most %d cents]", q.Category, q.MaxPriceCents)
		}
		fmt.Fprintf(out, "search %q (%s)%s: %s\n", q.Text, q.Mode, filter, names(hits))
	}
	sim, err := svc.Similar(ctx, "lamp-floor", 3, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "similar to Reading floor lamp: %s\n", names(sim))
	for _, user := range []string{"demo-cy", "demo-dee", "demo-newcomer"} {
		recs, err := svc.Recommend(ctx, user, 3)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "recommendations for %s (bought %s): %s\n", user, orNothing(purchases[user]), names(recs))
	}
	return nil
}

// indexed waits until every product of the catalogue is in the search table.
func indexed(ctx context.Context, svc *product.Service) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		pending := 0
		for _, p := range catalogue {
			if _, err := svc.Similar(ctx, p.ID, 1, false); errors.Is(err, product.ErrNotEmbedded) {
				pending++
			} else if err != nil {
				return err
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d products still not indexed: %w", pending, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func names(hits []product.Hit) string {
	var s []string
	for _, h := range hits {
		s = append(s, fmt.Sprintf("%s (%.3f)", h.Product.Name, h.Score))
	}
	return strings.Join(s, ", ")
}

func orNothing(items []string) string {
	if len(items) == 0 {
		return "nothing"
	}
	return strings.Join(items, ", ")
}
