package recommend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// mean returns the element-wise mean of vecs (nil when there are none).
func mean(vecs [][]float32) []float32 {
	if len(vecs) == 0 {
		return nil
	}
	out := make([]float32, len(vecs[0]))
	for _, v := range vecs {
		for i, x := range v {
			out[i] += x
		}
	}
	for i := range out {
		out[i] /= float32(len(vecs))
	}
	return out
}

// allZero reports a vector a cosine cannot be taken of.
func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// MemoryContent is the content-based model over embeddings held in memory,
// searched exactly (every item scored with vector.Score). It serves the
// offline evaluation and catalogues small enough to hold.
type MemoryContent struct {
	similarity string
	ids        []string
	vecs       [][]float32
	index      map[string]int
}

// NewMemoryContent holds embeddings (item id -> vector, all of one length,
// finite) for search by similarity, one of "cosine", "dot_product" and
// "euclidean" (Cassandra's functions and scores). A zero vector cannot be
// compared by cosine and is refused.
func NewMemoryContent(similarity string, embeddings map[string][]float32) (*MemoryContent, error) {
	switch similarity {
	case "cosine", "dot_product", "euclidean":
	default:
		return nil, fmt.Errorf("recommend: memory content: unknown similarity function %q", similarity)
	}
	c := &MemoryContent{similarity: similarity, index: map[string]int{}}
	ids := make([]string, 0, len(embeddings))
	for id := range embeddings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := embeddings[id]
		if len(c.vecs) > 0 && len(v) != len(c.vecs[0]) {
			return nil, fmt.Errorf("recommend: memory content: item %q has %d dimensions, item %q %d", id, len(v), c.ids[0], len(c.vecs[0]))
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("recommend: memory content: item %q has a non-finite element", id)
			}
		}
		if len(v) == 0 || (similarity == "cosine" && allZero(v)) {
			return nil, fmt.Errorf("recommend: memory content: item %q has a zero or empty vector", id)
		}
		c.index[id] = len(c.ids)
		c.ids = append(c.ids, id)
		c.vecs = append(c.vecs, v)
	}
	return c, nil
}

// Similar implements ContentSource by scoring every held item against the
// mean embedding of items.
func (c *MemoryContent) Similar(ctx context.Context, items []string, limit int) ([]Scored, error) {
	var seeds [][]float32
	for _, id := range items {
		if i, ok := c.index[id]; ok {
			seeds = append(seeds, c.vecs[i])
		}
	}
	q := mean(seeds)
	if q == nil || (c.similarity == "cosine" && allZero(q)) {
		return nil, nil
	}
	out := make([]Scored, 0, len(c.ids))
	for i, v := range c.vecs {
		s, err := vector.Score(c.similarity, q, v)
		if err != nil {
			return nil, fmt.Errorf("recommend: memory content: %w", err)
		}
		out = append(out, Scored{Item: c.ids[i], Score: float64(s)})
	}
	return slices.Clip(top(out, limit)), ctx.Err()
}

// EmbedContent embeds the text of each item (item id -> text) with emb and
// holds the vectors as a MemoryContent compared by cosine: the content model
// of a catalogue described by text (titles, genres, descriptions).
func EmbedContent(ctx context.Context, emb vector.Embedder, texts map[string]string) (*MemoryContent, error) {
	ids := sortedKeys(texts)
	in := make([]string, len(ids))
	for i, id := range ids {
		in[i] = texts[id]
	}
	vecs, err := emb.Embed(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("recommend: embed %d items with %s: %w", len(ids), emb.Model(), err)
	}
	if len(vecs) != len(ids) {
		return nil, fmt.Errorf("recommend: embed %d items with %s: %d vectors came back", len(ids), emb.Model(), len(vecs))
	}
	byID := make(map[string][]float32, len(ids))
	for i, id := range ids {
		if len(vecs[i]) != emb.Dimension() {
			return nil, fmt.Errorf("recommend: embed item %q with %s: %d dimensions, the model has %d", id, emb.Model(), len(vecs[i]), emb.Dimension())
		}
		byID[id] = vecs[i]
	}
	return NewMemoryContent("cosine", byID)
}

// VectorContent is the content-based model over a table of items with an
// embedding in a vector column with an ANN index (orm:"vector=N,index"):
// Similar reads the embeddings of the seed items (one Get each), averages them
// and asks the index for the nearest items with vector.Search.
type VectorContent[T any] struct {
	// Model is the items' model; Column its vector column.
	Model  *orm.Model[T]
	Column string
	// Key returns the primary key of an item's row, as Model.Get takes it.
	Key func(item string) []any
	// ID returns the item id of a row.
	ID func(row T) string
	// Where restricts the search (partition key or SAI-indexed columns), as
	// vector.SearchOptions.Where does.
	Where []orm.Predicate
}

// Similar implements ContentSource. Items whose row is missing or has no
// vector are left out of the mean. A limit above orm.MaxANNLimit is cut to it.
func (c VectorContent[T]) Similar(ctx context.Context, items []string, limit int) ([]Scored, error) {
	t := c.Model.Table()
	col := t.Column(c.Column)
	if col == nil {
		return nil, fmt.Errorf("recommend: content: table %s has no column %q", t.Name, c.Column)
	}
	var seeds [][]float32
	for _, id := range items {
		row, err := c.Model.Get(ctx, c.Key(id)...)
		if errors.Is(err, orm.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recommend: content: item %q in %s: %w", id, t.Name, err)
		}
		if v, _ := reflect.ValueOf(row).FieldByName(col.Field).Interface().([]float32); len(v) > 0 {
			seeds = append(seeds, v)
		}
	}
	q := mean(seeds)
	if q == nil || (col.Similarity == "cosine" && allZero(q)) {
		return nil, nil
	}
	res, err := vector.Search(ctx, c.Model, c.Column, q, vector.SearchOptions{Limit: min(limit, orm.MaxANNLimit), Where: c.Where})
	if err != nil {
		return nil, fmt.Errorf("recommend: content: %w", err)
	}
	out := make([]Scored, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = Scored{Item: c.ID(r.Row), Score: float64(r.Score)}
	}
	return top(out, 0), nil // ties in item order, as MemoryContent's
}
