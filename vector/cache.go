package vector

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/errgroup"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// CacheKey identifies a cached vector: the model's name and dimension, and the
// SHA-256 of the text. The text itself is not kept.
type CacheKey struct {
	Model     string
	Dimension int
	Hash      [sha256.Size]byte
}

// cacheKey returns the key of text under model and dim.
func cacheKey(model string, dim int, text string) CacheKey {
	return CacheKey{Model: model, Dimension: dim, Hash: sha256.Sum256([]byte(text))}
}

// CacheStore keeps vectors by CacheKey for Cached. Implementations are safe for
// concurrent use. MemoryStore, CassandraStore and Tiered are the toolkit's.
type CacheStore interface {
	// Get returns the vector stored under each key, in the order of keys: nil
	// for a key without one. The caller may modify the vectors returned.
	Get(ctx context.Context, keys []CacheKey) ([][]float32, error)
	// Put stores vecs[i] under keys[i], replacing what was there. The store must
	// not keep vecs' slices, which the caller may modify afterwards.
	Put(ctx context.Context, keys []CacheKey, vecs [][]float32) error
}

// CachedConfig configures a Cached embedder. Its zero value is ready to use.
type CachedConfig struct {
	// OnStoreError, when set, makes the store's errors not fail Embed: each is
	// passed to it, a failed Get counts as all misses and a failed Put still
	// returns the vectors. When nil, a store error is Embed's error.
	OnStoreError func(err error)
}

// CacheStats counts what a Cached embedder did with the texts it was given, each
// distinct text of a call counted once.
type CacheStats struct {
	// Hits are the texts whose vector was in the store.
	Hits int64
	// Shared are the texts that another call was embedding at the same time, whose
	// vector was taken from it.
	Shared int64
	// Embedded are the texts sent to the inner embedder.
	Embedded int64
	// Calls are the inner embedder's Embed calls.
	Calls int64
}

// Cached is an Embedder that remembers vectors in a CacheStore, under the inner
// embedder's model and dimension and the SHA-256 of each text, so that a text once
// embedded is not sent to the inner embedder again. Embed looks up every text and
// calls the inner embedder once, for the distinct texts not found; a text that
// another Embed call of the same Cached is embedding at that moment is waited for,
// not embedded twice. A stored vector whose length is not the inner Dimension is
// taken as a miss: the text is embedded again and the vector overwritten. Cached
// is safe for concurrent use.
type Cached struct {
	inner Embedder
	store CacheStore
	cfg   CachedConfig

	mu      sync.Mutex
	flights map[CacheKey]*flight

	hits, shared, embedded, calls atomic.Int64
}

// flight is a text being embedded by one Embed call, which others wait for.
type flight struct {
	done chan struct{}
	vec  []float32 // set before done is closed, on success
	err  error     // set before done is closed, on failure
}

// NewCached returns a Cached embedder of inner's vectors kept in store.
func NewCached(inner Embedder, store CacheStore, cfg CachedConfig) (*Cached, error) {
	switch {
	case inner == nil:
		return nil, errors.New("vector: NewCached: nil inner Embedder")
	case store == nil:
		return nil, fmt.Errorf("vector: NewCached (model %s): nil CacheStore", inner.Model())
	case inner.Dimension() <= 0:
		return nil, fmt.Errorf("vector: NewCached (model %s): inner Dimension %d", inner.Model(), inner.Dimension())
	}
	return &Cached{inner: inner, store: store, cfg: cfg, flights: map[CacheKey]*flight{}}, nil
}

// Dimension is the inner embedder's.
func (c *Cached) Dimension() int { return c.inner.Dimension() }

// Model is the inner embedder's.
func (c *Cached) Model() string { return c.inner.Model() }

// Stats returns the counts since NewCached.
func (c *Cached) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Shared: c.shared.Load(), Embedded: c.embedded.Load(), Calls: c.calls.Load()}
}

// call is the state of one Embed call over its distinct texts.
type call struct {
	keys  []CacheKey
	texts []string    // the text of each key
	first []int       // the index in Embed's texts of each key's first text
	vecs  [][]float32 // the vector of each key, once known
}

// Embed returns the vector of each text, in order, from the store where it is
// there and from the inner embedder otherwise, and stores the new ones. Identical
// texts in one call are embedded once. An error names the model; no partial result
// is returned with it.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	model, dim := c.inner.Model(), c.inner.Dimension()
	cl := &call{}
	slot := make([]int, len(texts)) // the key of each text
	seen := make(map[CacheKey]int, len(texts))
	for i, t := range texts {
		k := cacheKey(model, dim, t)
		j, ok := seen[k]
		if !ok {
			j = len(cl.keys)
			seen[k] = j
			cl.keys, cl.texts, cl.first = append(cl.keys, k), append(cl.texts, t), append(cl.first, i)
		}
		slot[i] = j
	}
	cl.vecs = make([][]float32, len(cl.keys))
	if err := c.fill(ctx, cl); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, j := range slot {
		out[i] = cl.vecs[j]
		if cl.first[j] != i {
			out[i] = slices.Clone(out[i]) // each result is the caller's own
		}
	}
	return out, nil
}

// fill sets the vectors of cl. Each key is claimed by one call at a time (a
// flight): this call resolves the keys no other call holds, from the store or the
// inner embedder, and waits for the others. A claim ends only once the vector is
// stored, so concurrent calls for one text make at most one inner call. A key whose
// other call ended with its context is claimed again.
func (c *Cached) fill(ctx context.Context, cl *call) error {
	pending := make([]int, len(cl.keys))
	for j := range pending {
		pending[j] = j
	}
	for len(pending) > 0 {
		var lead, wait []int
		var leadF, waitF []*flight
		c.mu.Lock()
		for _, j := range pending {
			if f, ok := c.flights[cl.keys[j]]; ok {
				wait, waitF = append(wait, j), append(waitF, f)
				continue
			}
			f := &flight{done: make(chan struct{})}
			c.flights[cl.keys[j]] = f
			lead, leadF = append(lead, j), append(leadF, f)
		}
		c.mu.Unlock()
		if len(lead) > 0 {
			if err := c.lead(ctx, cl, lead, leadF); err != nil {
				return err
			}
		}
		pending = nil
		for n, j := range wait {
			f := waitF[n]
			select {
			case <-f.done:
			case <-ctx.Done():
				return fmt.Errorf("vector: cached model %s: waiting for input %d, claimed by another call: %w", c.inner.Model(), cl.first[j], ctx.Err())
			}
			switch {
			case f.err == nil:
				cl.vecs[j] = slices.Clone(f.vec)
				c.shared.Add(1)
			case errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded):
				pending = append(pending, j)
			default:
				return fmt.Errorf("vector: cached model %s: input %d, claimed by another call: %w", c.inner.Model(), cl.first[j], f.err)
			}
		}
	}
	return nil
}

// lead resolves the keys lead of cl, whose flights fl this call holds: it reads
// them from the store, embeds the misses and stores them, handing each vector to
// its flight as soon as it is known, and ends the flights.
func (c *Cached) lead(ctx context.Context, cl *call, lead []int, fl []*flight) (err error) {
	model, dim := c.inner.Model(), c.inner.Dimension()
	keys := make([]CacheKey, len(lead))
	for n, j := range lead {
		keys[n] = cl.keys[j]
	}
	resolve := func(n int, v []float32) {
		fl[n].vec = v
		cl.vecs[lead[n]] = slices.Clone(v) // waiters read v meanwhile
		close(fl[n].done)
	}
	defer func() {
		c.mu.Lock()
		for n, f := range fl {
			select {
			case <-f.done:
			default:
				f.err = err
				close(f.done)
			}
			delete(c.flights, keys[n])
		}
		c.mu.Unlock()
	}()
	stored, err := c.store.Get(ctx, keys)
	if err == nil && len(stored) != len(keys) {
		err = fmt.Errorf("%d vectors for %d keys", len(stored), len(keys))
	}
	if err != nil {
		if err = c.storeError(ctx, model, "get", err); err != nil {
			return err
		}
		stored = make([][]float32, len(keys))
	}
	var miss []int // indices into keys
	for n, v := range stored {
		if len(v) != dim {
			miss = append(miss, n)
			continue
		}
		resolve(n, v)
	}
	c.hits.Add(int64(len(keys) - len(miss)))
	if len(miss) == 0 {
		return nil
	}
	texts := make([]string, len(miss))
	missKeys := make([]CacheKey, len(miss))
	for m, n := range miss {
		texts[m], missKeys[m] = cl.texts[lead[n]], keys[n]
	}
	c.calls.Add(1)
	c.embedded.Add(int64(len(texts)))
	vecs, err := c.inner.Embed(ctx, texts)
	if err == nil && len(vecs) != len(texts) {
		err = fmt.Errorf("vector: cached model %s: the inner embedder gave %d vectors for %d texts", model, len(vecs), len(texts))
	}
	for m := 0; err == nil && m < len(vecs); m++ {
		if len(vecs[m]) != dim {
			err = fmt.Errorf("%w: cached model %s: input %d: the inner embedder gave %d elements, want %d", ErrDimension, model, cl.first[lead[miss[m]]], len(vecs[m]), dim)
		}
	}
	if err != nil {
		return err
	}
	for m, n := range miss {
		resolve(n, vecs[m])
	}
	if err = c.store.Put(ctx, missKeys, vecs); err != nil {
		err = c.storeError(ctx, model, "put", err)
	}
	return err
}

// storeError returns err wrapped, or nil after passing it to OnStoreError (unless
// ctx has ended: then the call is over anyway).
func (c *Cached) storeError(ctx context.Context, model, op string, err error) error {
	err = fmt.Errorf("vector: cached model %s: store %s: %w", model, op, err)
	if c.cfg.OnStoreError == nil || ctx.Err() != nil {
		return err
	}
	c.cfg.OnStoreError(err)
	return nil
}

// MemoryStoreConfig configures a MemoryStore.
type MemoryStoreConfig struct {
	// MaxBytes bounds the vectors kept, counted as 4 bytes per element plus the
	// key; the least valuable entries are evicted past it (otter's W-TinyLFU).
	// Default 64 MiB.
	MaxBytes int64
}

// Validate reports a negative MaxBytes.
func (c MemoryStoreConfig) Validate() error {
	if c.MaxBytes < 0 {
		return fmt.Errorf("vector: MemoryStoreConfig.MaxBytes %d is negative", c.MaxBytes)
	}
	return nil
}

// MemoryStore is a CacheStore in the process's memory, bounded in bytes, built on
// github.com/maypok86/otter/v2. It is safe for concurrent use.
type MemoryStore struct {
	c *otter.Cache[CacheKey, []float32]
}

// NewMemoryStore returns an empty MemoryStore, or the error of cfg.Validate.
func NewMemoryStore(cfg MemoryStoreConfig) (*MemoryStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	c, err := otter.New(&otter.Options[CacheKey, []float32]{
		MaximumWeight: uint64(cfg.MaxBytes),
		Weigher: func(k CacheKey, v []float32) uint32 {
			return uint32(min(uint64(4*len(v)+len(k.Model)+len(k.Hash)+8), math.MaxUint32))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("vector: NewMemoryStore: %w", err)
	}
	return &MemoryStore{c: c}, nil
}

// Get returns copies of the stored vectors.
func (s *MemoryStore) Get(_ context.Context, keys []CacheKey) ([][]float32, error) {
	out := make([][]float32, len(keys))
	for i, k := range keys {
		if v, ok := s.c.GetIfPresent(k); ok {
			out[i] = slices.Clone(v)
		}
	}
	return out, nil
}

// Put stores copies of vecs.
func (s *MemoryStore) Put(_ context.Context, keys []CacheKey, vecs [][]float32) error {
	if len(keys) != len(vecs) {
		return fmt.Errorf("vector: memory store: %d vectors for %d keys", len(vecs), len(keys))
	}
	for i, k := range keys {
		s.c.Set(k, slices.Clone(vecs[i]))
	}
	return nil
}

// Len returns the number of vectors kept, an estimate while an eviction runs.
func (s *MemoryStore) Len() int { return s.c.EstimatedSize() }

// Bytes returns the weight of the vectors kept, as MaxBytes counts it.
func (s *MemoryStore) Bytes() int64 { return int64(s.c.WeightedSize()) }

// CassandraStoreConfig configures a CassandraStore.
type CassandraStoreConfig struct {
	// Table is the table's name, a Cassandra identifier. Default "embedding_cache".
	Table string
	// Scope says, on a tenanted DB, whose entries these are: orm.TenantScope (the
	// zero value) keeps each tenant's apart and needs a tenant in every call's
	// context; orm.GlobalScope shares them. On a DB without tenancy it changes
	// nothing.
	Scope orm.Scope
	// TTL, when set, makes each entry expire that long after it was written; at
	// most orm.MaxTTL. Zero keeps entries until deleted.
	TTL time.Duration
	// Concurrency is the most writes of one Put in flight at once. Default 8.
	Concurrency int
}

func (c *CassandraStoreConfig) setDefaults() {
	if c.Table == "" {
		c.Table = "embedding_cache"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
}

// Validate reports the first field a CassandraStore cannot work with; zero fields
// count as their defaults.
func (c CassandraStoreConfig) Validate() error {
	c.setDefaults()
	if err := orm.CheckIdent("table", c.Table); err != nil {
		return fmt.Errorf("vector: CassandraStoreConfig.Table: %w", err)
	}
	switch {
	case c.Scope != orm.TenantScope && c.Scope != orm.GlobalScope && c.Scope != orm.KeyspaceScope:
		return fmt.Errorf("vector: CassandraStoreConfig.Scope %v: not a scope", c.Scope)
	case c.TTL < 0 || c.TTL > orm.MaxTTL:
		return fmt.Errorf("vector: CassandraStoreConfig.TTL %v: want 0 to orm.MaxTTL (%v)", c.TTL, orm.MaxTTL)
	case c.TTL > 0 && c.TTL < time.Second:
		return fmt.Errorf("vector: CassandraStoreConfig.TTL %v: Cassandra counts TTLs in whole seconds", c.TTL)
	case c.Concurrency < 0:
		return fmt.Errorf("vector: CassandraStoreConfig.Concurrency %d is negative", c.Concurrency)
	}
	return nil
}

// cacheRow is one cached vector. The partition key is the whole CacheKey, so that
// each entry is its own partition; the vector is a blob of little-endian IEEE 754
// float32s, since a vector<float, n> column has one dimension for every row.
type cacheRow struct {
	Model     string `cql:"model" orm:"pk"`
	Dimension int32  `cql:"dimension" orm:"pk"`
	Hash      []byte `cql:"hash" orm:"pk"`
	Vec       []byte `cql:"vec"`
}

// inChunk is the most partitions one read of a CassandraStore asks for.
const inChunk = 100

// CassandraStore is a CacheStore in a Cassandra table, made with the orm: it
// survives restarts and is shared by every process on the table. Call Sync once to
// create the table. It is safe for concurrent use.
type CassandraStore struct {
	rows *orm.Model[cacheRow]
	cfg  CassandraStoreConfig
}

// NewCassandraStore returns a CassandraStore on db, or the error of cfg.Validate.
func NewCassandraStore(db *orm.DB, cfg CassandraStoreConfig) (*CassandraStore, error) {
	if db == nil {
		return nil, errors.New("vector: NewCassandraStore: nil DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	rows, err := orm.NewModel[cacheRow](db, orm.TableName(cfg.Table), orm.WithScope(cfg.Scope))
	if err != nil {
		return nil, fmt.Errorf("vector: cache table %s: %w", cfg.Table, err)
	}
	return &CassandraStore{rows: rows, cfg: cfg}, nil
}

// Sync creates the store's table, or brings it in line (orm.DB.Sync).
func (s *CassandraStore) Sync(ctx context.Context) error {
	if err := s.rows.DB().Sync(ctx, s.rows); err != nil {
		return fmt.Errorf("vector: cache table %s: %w", s.cfg.Table, err)
	}
	return nil
}

// Get reads the keys' rows, at most 100 partitions per query (IN on the hash).
// A stored blob whose length is not a multiple of 4 is returned as a miss.
func (s *CassandraStore) Get(ctx context.Context, keys []CacheKey) ([][]float32, error) {
	out := make([][]float32, len(keys))
	type group struct {
		model string
		dim   int
	}
	byGroup := map[group]map[[sha256.Size]byte][]int{}
	var order []group
	for i, k := range keys {
		g := group{k.Model, k.Dimension}
		if byGroup[g] == nil {
			byGroup[g] = map[[sha256.Size]byte][]int{}
			order = append(order, g)
		}
		byGroup[g][k.Hash] = append(byGroup[g][k.Hash], i)
	}
	for _, g := range order {
		hashes := make([]any, 0, len(byGroup[g]))
		for h := range byGroup[g] {
			hashes = append(hashes, h[:])
		}
		for chunk := range slices.Chunk(hashes, inChunk) {
			q := s.rows.Query().Where(orm.Eq("model", g.model), orm.Eq("dimension", int32(g.dim)), orm.In("hash", chunk...))
			for row, err := range q.All(ctx) {
				if err != nil {
					return nil, fmt.Errorf("vector: cache table %s (model %s): %w", s.cfg.Table, g.model, err)
				}
				for _, i := range byGroup[g][[sha256.Size]byte(row.Hash)] {
					out[i] = decodeVec(row.Vec)
				}
			}
		}
	}
	return out, nil
}

// Put writes one row per key, Concurrency at a time, with the configured TTL.
func (s *CassandraStore) Put(ctx context.Context, keys []CacheKey, vecs [][]float32) error {
	if len(keys) != len(vecs) {
		return fmt.Errorf("vector: cache table %s: %d vectors for %d keys", s.cfg.Table, len(vecs), len(keys))
	}
	var opts []orm.QueryOption
	if s.cfg.TTL > 0 {
		opts = append(opts, orm.WithTTL(s.cfg.TTL))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i, k := range keys {
		g.Go(func() error {
			if k.Dimension > math.MaxInt32 {
				return fmt.Errorf("vector: cache table %s (model %s): dimension %d above the int column's range", s.cfg.Table, k.Model, k.Dimension)
			}
			row := &cacheRow{Model: k.Model, Dimension: int32(k.Dimension), Hash: k.Hash[:], Vec: encodeVec(vecs[i])}
			if err := s.rows.Insert(gctx, row, opts...); err != nil {
				return fmt.Errorf("vector: cache table %s (model %s): %w", s.cfg.Table, k.Model, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// encodeVec writes v as little-endian IEEE 754 float32s.
func encodeVec(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// decodeVec reads encodeVec's bytes; nil if their length is not a multiple of 4.
func decodeVec(b []byte) []float32 {
	if len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// tiered is a CacheStore of two levels.
type tiered struct{ front, back CacheStore }

// Tiered returns a CacheStore of two levels, such as a MemoryStore in front of a
// CassandraStore: Get asks front first and back for the rest, and copies what back
// had into front; Put writes to both, back first. Given a nil level, its Get and
// Put fail.
func Tiered(front, back CacheStore) CacheStore { return tiered{front, back} }

// check reports a nil level.
func (t tiered) check() error {
	if t.front == nil || t.back == nil {
		return errors.New("vector: Tiered store with a nil level")
	}
	return nil
}

// Get asks front, then back for front's misses, and copies back's hits into front.
func (t tiered) Get(ctx context.Context, keys []CacheKey) ([][]float32, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out, err := t.front.Get(ctx, keys)
	if err != nil {
		return nil, err
	}
	var miss []int
	var missKeys []CacheKey
	for i, v := range out {
		if v == nil {
			miss, missKeys = append(miss, i), append(missKeys, keys[i])
		}
	}
	if len(miss) == 0 {
		return out, nil
	}
	back, err := t.back.Get(ctx, missKeys)
	if err == nil && len(back) != len(missKeys) {
		err = fmt.Errorf("vector: tiered store: the back store gave %d vectors for %d keys", len(back), len(missKeys))
	}
	if err != nil {
		return nil, err
	}
	var upKeys []CacheKey
	var up [][]float32
	for n, i := range miss {
		if back[n] != nil {
			out[i] = back[n]
			upKeys, up = append(upKeys, keys[i]), append(up, back[n])
		}
	}
	if len(up) > 0 {
		if err := t.front.Put(ctx, upKeys, up); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Put writes to back, then to front.
func (t tiered) Put(ctx context.Context, keys []CacheKey, vecs [][]float32) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := t.back.Put(ctx, keys, vecs); err != nil {
		return err
	}
	return t.front.Put(ctx, keys, vecs)
}
