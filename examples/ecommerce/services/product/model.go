package product

import (
	"time"
)

// Product is a row of the products table, the catalogue. The service sets Shelf
// and UpdatedAt; callers set the rest.
type Product struct {
	// Shelf is the product's partition within its tenant (Config.Shelves).
	Shelf int32 `cql:"shelf" orm:"pk" json:"-"`
	// ID names the product.
	ID string `cql:"id" orm:"ck" json:"id"`
	// Name and Description are the text searched and embedded.
	Name        string `cql:"name" json:"name"`
	Description string `cql:"description" json:"description"`
	// Category and Brand are filters (SAI indexed).
	Category string `cql:"category" orm:"index" json:"category"`
	Brand    string `cql:"brand" orm:"index" json:"brand"`
	// PriceCents is the price in cents (SAI indexed, for ranges).
	PriceCents int64 `cql:"price_cents" orm:"index" json:"price_cents"`
	// Stock is the units in stock, as the catalogue shows it.
	Stock int32 `cql:"stock" json:"stock"`
	// AutoReorder, ReorderThreshold and ReorderQuantity are the reorder
	// settings: with AutoReorder, a purchase order of ReorderQuantity is made
	// when stock falls to ReorderThreshold.
	AutoReorder      bool  `cql:"auto_reorder" json:"auto_reorder"`
	ReorderThreshold int32 `cql:"reorder_threshold" json:"reorder_threshold"`
	ReorderQuantity  int32 `cql:"reorder_quantity" json:"reorder_quantity"`
	// UpdatedAt is when the catalogue fields were last written.
	UpdatedAt time.Time `cql:"updated_at" json:"updated_at"`
}

// Dimension is the length of the embeddings: the embedder's dimension.
const Dimension = 384

// searchRow is a product's row in the search table: what the searches filter
// and rank by, written by the indexer from the catalogue row. The vectors live
// in a table of their own, written whole with INSERT, that does not record its
// changes, for what Cassandra 5.0.8 did here: an ANN read restricted to a
// partition misses rows written by several UPDATE statements (vector
// TestUpdatedRowsFact), and on the products table as first built (recording
// its changes, so with a static mark column, its vectors written by UPDATE and
// a conditional UPDATE) an ANN read with a category filter failed on the
// server with "IllegalStateException: [orm_change_marks] is not a subset of
// []" (not reduced to a smaller case).
type searchRow struct {
	Shelf      int32     `cql:"shelf" orm:"pk"`
	ID         string    `cql:"id" orm:"ck"`
	Category   string    `cql:"category" orm:"index"`
	Brand      string    `cql:"brand" orm:"index"`
	PriceCents int64     `cql:"price_cents" orm:"index"`
	Tokens     []string  `cql:"tokens" orm:"set,index"`
	Embedding  []float32 `cql:"embedding" orm:"vector=384,index"`
	// TextHash is the hash of the text Embedding was computed from, and of
	// the model.
	TextHash string `cql:"text_hash"`
}

// text is what a product is embedded from and searched by.
func (p *Product) text() string {
	return p.Name + ". " + p.Category + ". " + p.Brand + ". " + p.Description
}

// Hit is a search result: the product and its score in the mode searched (the
// similarity for semantic search, the share of query words matched for keyword
// search, the fused score for hybrid), with the product's rank in each ranking
// (0: not in it).
type Hit struct {
	Product      Product `json:"product"`
	Score        float64 `json:"score"`
	KeywordRank  int     `json:"keyword_rank,omitempty"`
	SemanticRank int     `json:"semantic_rank,omitempty"`
}
