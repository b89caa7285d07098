// Package recommend recommends items to users from their implicit feedback
// (views, cart additions, purchases, each with a weight), with three models
// and a hybrid that blends them:
//
//   - item-item collaborative filtering: each item's k most similar items by
//     the cosine of their user vectors (optionally shrunk for similarities
//     resting on few users), computed by a training job (Train, or
//     TrainIncremental for the items touched since a time) and stored as one
//     partition per item;
//   - popularity with exponential time decay, a short list in one partition,
//     written by the same job; it is all a user without history gets;
//   - content: the items whose embeddings are nearest to the mean embedding
//     of the user's recent items, by Cassandra's ANN index (VectorContent) or
//     in memory (MemoryContent).
//
// Recommend answers from stored data alone, reading partitions it can name:
// the user's recent interactions, their purchases, the neighbour lists of
// those items, the popularity list, and one ANN query. Purchased items are
// never recommended.
//
// Fit and Snapshot run the same training and scoring in memory; package
// recommend/eval measures them offline on MovieLens 100k. The tables, the
// jobs and the measured figures are described in docs/recommendations.md.
//
//	r, _ := recommend.New(db, recommend.Config{}, nil)
//	_ = r.Sync(ctx)
//	_ = r.Record(ctx, recommend.Interaction{UserID: "ann", ItemID: "tent", Kind: recommend.Purchase})
//	_, _ = r.Train(ctx)                        // a job: nightly, say
//	_, _ = r.TrainIncremental(ctx, lastRun)    // and every few minutes
//	items, _ := r.Recommend(ctx, "ann", 10)
package recommend
