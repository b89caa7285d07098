package recommend_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// Interactions recorded in Cassandra, a training job, and recommendations
// served from the stored lists.
func Example() {
	ctx := context.Background()
	// A keyspace of the example's own (the tests' tables are tenanted).
	ks := env.KeyspacePrefix() + "example"
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: ks})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r, err := recommend.New(db, recommend.Config{Bucket: "example", Now: func() time.Time { return now }}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	for i, in := range []recommend.Interaction{
		{UserID: "ex-ann", ItemID: "ex-tent", Kind: recommend.Purchase},
		{UserID: "ex-ann", ItemID: "ex-stove", Kind: recommend.Purchase},
		{UserID: "ex-bob", ItemID: "ex-tent", Kind: recommend.Purchase},
		{UserID: "ex-bob", ItemID: "ex-stove", Kind: recommend.Cart},
		{UserID: "ex-cy", ItemID: "ex-tent", Kind: recommend.Purchase},
	} {
		in.At = now.Add(time.Duration(i-10) * time.Minute)
		if err := r.Record(ctx, in); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := r.Train(ctx); err != nil {
		log.Fatal(err)
	}
	got, err := r.Recommend(ctx, "ex-cy", 3) // bought the tent: the stove
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got[0].Item)
	got, err = r.Recommend(ctx, "ex-new", 3) // no history: the popular items
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got[0].Item, got[1].Item)
	// Output:
	// ex-stove
	// ex-tent ex-stove
}

// The same models trained and served in memory, as the offline evaluation
// runs them.
func ExampleFit() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rows := []recommend.Interaction{
		{UserID: "ann", ItemID: "tent", Kind: recommend.Purchase, At: now},
		{UserID: "ann", ItemID: "stove", Kind: recommend.Purchase, At: now},
		{UserID: "bob", ItemID: "tent", Kind: recommend.Purchase, At: now},
		{UserID: "bob", ItemID: "stove", Kind: recommend.View, At: now},
		{UserID: "bob", ItemID: "lamp", Kind: recommend.Purchase, At: now},
	}
	snap, err := recommend.Fit(recommend.Config{Now: func() time.Time { return now }}, slices.Values(rows))
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range snap.Neighbours("tent") {
		fmt.Printf("%s %.3f\n", n.Item, n.Score)
	}
	history := []recommend.Interaction{{UserID: "cy", ItemID: "tent", Kind: recommend.Purchase, At: now}}
	got, err := snap.Recommend(context.Background(), history, nil, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got[0].Item, got[1].Item)
	// Output:
	// stove 0.832
	// lamp 0.707
	// stove lamp
}

// The content model over embeddings held in memory: the items nearest to
// the mean of the seeds' embeddings.
func ExampleMemoryContent() {
	c, err := recommend.NewMemoryContent("cosine", map[string][]float32{
		"tent":  {1, 0, 0},
		"tarp":  {0.9, 0.2, 0},
		"stove": {0, 1, 0},
		"book":  {0, 0, 1},
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := c.Similar(context.Background(), []string{"tent"}, 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range got {
		fmt.Printf("%s %.3f\n", s.Item, s.Score)
	}
	// Output:
	// tent 1.000
	// tarp 0.988
	// book 0.500
}

// Scaled neighbour lists: each seed's list is divided by its best similarity,
// so that a seed whose neighbours are all far still counts fully. Here the
// tent's nearest item is far closer than the kayak's: raw, the kayak's
// neighbour scores 0.58 of the stove; scaled, as much.
func ExampleConfig_scaleNeighbors() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var rows []recommend.Interaction
	buy := func(user string, items ...string) {
		for _, item := range items {
			rows = append(rows, recommend.Interaction{UserID: user, ItemID: item, Kind: recommend.Purchase, At: now})
		}
	}
	buy("ann", "tent", "stove")
	buy("bob", "tent", "stove")
	buy("cy", "kayak", "paddle")
	buy("dee", "kayak")
	buy("eve", "kayak")
	history := []recommend.Interaction{
		{UserID: "fay", ItemID: "tent", Kind: recommend.Purchase, At: now},
		{UserID: "fay", ItemID: "kayak", Kind: recommend.Purchase, At: now},
	}
	for _, scale := range []bool{false, true} {
		cfg := recommend.Config{ScaleNeighbors: scale, Weights: recommend.Weights{KNN: 1}, Now: func() time.Time { return now }}
		snap, err := recommend.Fit(cfg, slices.Values(rows))
		if err != nil {
			log.Fatal(err)
		}
		got, err := snap.Recommend(context.Background(), history, nil, 2)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("scaled %v: %s %.2f, %s %.2f\n", scale, got[0].Item, got[0].Score, got[1].Item, got[1].Score)
	}
	// Output:
	// scaled false: stove 1.00, paddle 0.58
	// scaled true: paddle 1.00, stove 1.00
}
