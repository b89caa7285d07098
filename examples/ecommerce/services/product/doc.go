// Package product is the e-commerce platform's catalogue: products (name,
// description, category, brand, price, stock level and the reorder settings the
// notification service's auto-reorder reads), searched by keywords, by meaning
// and by both.
//
// The searches read a search table, kept current from the change feed:
// RunIndexer follows the products table's changes and rewrites each changed
// product's search row (its filters, keyword tokens and embedding:
// all-MiniLM-L6-v2, 384 dimensions, or any vector.Embedder of that dimension),
// embedding again only when the text changed (a hash of it is stored beside
// the vector); a delete of a whole shelf, or of a range of its ids
// (orm.Query.Delete, whose change has the shelf as its key and the range as
// its Range), deletes the same search rows. Wrap the embedder in vector.NewCached and unchanged text is
// never embedded twice even across tables and restarts. The search table is
// written with INSERT only and does not record its changes, for what
// Cassandra 5.0.8 did with vectors otherwise (see searchRow and
// docs/vectors.md).
//
// Search has three modes. Keyword search matches the words of the query against
// tokens the service keeps for each product (lower case, plural s dropped, a few
// stop words left out) in a set column with an SAI index: Cassandra 5.0.8's
// SAI has no text analyzers (it refuses the index_analyzer option; vector's
// TestAnalyzerFact). Semantic search is an ANN read of the embedding index.
// Hybrid (the default) fuses the two rankings by reciprocal rank fusion
// (score Σ 1/(60+rank)). Each filters by category and price inside the read,
// with SAI indexes. Similar returns the products nearest to one product.
//
// The table is tenant-scoped on a tenanted DB: its partition key is the tenant
// and a shelf (Config.Shelves, default 1), so every search reads whole
// partitions of the caller's tenant only: Cassandra refuses an ANN read that
// restricts part of a partition key. A catalogue of one tenant lives in
// Shelves partitions, searched one by one and merged.
//
// With Config.Cache, the reads of products by id (Get, and the products of
// every search hit) go through a tiered cache (package cache/ormcache: a
// memory tier over Redis) that an Invalidator on the change feed keeps right;
// run it with RunCache. A write is seen by every instance's Get once the feed
// has delivered its change (the feed's Lag plus its Poll); the answer to a PUT
// and the indexer read Cassandra. Without it (the default) every read goes to
// Cassandra.
package product
