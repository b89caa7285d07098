package changefeed

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// DefaultLookBack is a Feed's Config.LookBack unless set: how far behind them
// its readers look for changes whose batch applied late. Cassandra's batch
// log replays a logged batch its coordinator did not finish once it is twice
// write_request_timeout old (4 s at the default 2 s), on a 10 s round, so a
// batch can land some 15 s after its client stamped its record; 30 s leaves a
// margin.
const DefaultLookBack = 30 * time.Second

// FeedConfig configures a Feed. Zero fields take the defaults documented on each.
type FeedConfig struct {
	// Log configures the change log; Log.Table defaults to "orm_changes" and
	// Log.LookBack to DefaultLookBack (or twice Log.Lag, whole seconds, if
	// that is more); a negative Log.LookBack turns the look-back off.
	Log Config
	// Checkpoints names the table of the durable subscriptions' checkpoints
	// (default Log.Table+"_checkpoints").
	Checkpoints string
	// Retention is how long a change stays in the log (default 7 days, whole
	// seconds): a durable subscription stopped for longer misses what expired.
	Retention time.Duration
	// MarkTTL is how long the mark of a conditional write stays on its row
	// (default 24 hours, whole seconds, at least Log.AbandonAfter): a record
	// written ahead whose writer never learnt the outcome, and that no reader
	// settled within MarkTTL, is delivered with Change.Uncertain set.
	MarkTTL time.Duration
}

func (c *FeedConfig) setDefaults() {
	if c.Log.Table == "" {
		c.Log.Table = "orm_changes"
	}
	c.Log.setDefaults()
	if c.Log.LookBack == 0 {
		c.Log.LookBack = max(DefaultLookBack, (2*c.Log.Lag + time.Second - 1).Truncate(time.Second))
	}
	if c.Checkpoints == "" {
		c.Checkpoints = c.Log.Table + "_checkpoints"
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.MarkTTL == 0 {
		c.MarkTTL = 24 * time.Hour
	}
}

// Validate reports the first field a Feed cannot work with. Zero fields are taken
// at their defaults.
func (c FeedConfig) Validate() error {
	c.setDefaults()
	if err := c.Log.Validate(); err != nil {
		return err
	}
	switch {
	case c.Retention < time.Hour || c.Retention%time.Second != 0:
		return fmt.Errorf("changefeed: %s: Retention %v is not a whole number of seconds of at least an hour", c.Log.Table, c.Retention)
	case c.MarkTTL < c.Log.AbandonAfter || c.MarkTTL%time.Second != 0:
		return fmt.Errorf("changefeed: %s: MarkTTL %v is not a whole number of seconds of at least AbandonAfter (%v)", c.Log.Table, c.MarkTTL, c.Log.AbandonAfter)
	}
	return nil
}

// changeRow is one change in the log.
type changeRow struct {
	Head
	// ID is, on a copy of a record (see OriginSeq), the change's id; an
	// original record's id is its Seq.
	ID     orm.UUID `cql:"change_id"`
	Table  string   `cql:"table_name"`
	Op     string   `cql:"op"`
	Tenant string   `cql:"tenant"`
	// Key and Values hold CQL encodings behind a one-byte prefix, so that an
	// empty value is not read back as a null.
	Key     [][]byte          `cql:"key_values"`
	Values  map[string][]byte `cql:"column_values"`
	Nulls   []string          `cql:"nulls"`
	Changed []string          `cql:"changed"`
	// RangeColumn and the bounds after it hold the Range of a delete of a
	// slice of a partition (orm.RowChange.Range); the bounds are prefixed like
	// Key, null for none.
	RangeColumn    string    `cql:"range_column"`
	RangeLower     []byte    `cql:"range_lower"`
	RangeLowerIncl bool      `cql:"range_lower_inclusive"`
	RangeUpper     []byte    `cql:"range_upper"`
	RangeUpperIncl bool      `cql:"range_upper_inclusive"`
	At             time.Time `cql:"at"`
	// Ahead marks a record written ahead of a conditional write.
	Ahead bool `cql:"ahead"`
	// OriginBucket and OriginSeq, on a copy, locate the record it copies: one
	// staged with a write whose outcome was unknown, which the copy stands in
	// for when it landed late.
	OriginBucket int64    `cql:"origin_bucket"`
	OriginSeq    orm.UUID `cql:"origin_seq"`

	uncertain bool // set by verify
}

// id returns the change's id.
func (r *changeRow) id() orm.UUID {
	if r.ID.IsZero() {
		return r.Seq
	}
	return r.ID
}

// attached is a table whose model records its changes in the feed.
type attached struct {
	table  *orm.Table
	reader orm.ChangeReader
}

// Feed is the change log of the ORM models made with orm.RecordChanges(feed): it
// records their writes atomically with them (it implements orm.ChangeLog) and
// delivers them to subscriptions (Subscribe, Follow). Make one per DB at start-up,
// before the models, and Sync its Models. It is safe for concurrent use.
type Feed struct {
	cfg    FeedConfig
	log    *Log[changeRow, *changeRow]
	checks *Checkpoints

	mu     sync.RWMutex
	tables map[string]attached
}

// NewFeed returns a feed on db, or the error of cfg.Validate.
func NewFeed(db *orm.DB, cfg FeedConfig) (*Feed, error) {
	if db == nil {
		return nil, errors.New("changefeed: NewFeed: nil DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	f := &Feed{cfg: cfg, tables: map[string]attached{}}
	var err error
	if f.log, err = New[changeRow](db, cfg.Log, f.verify); err != nil {
		return nil, err
	}
	// The entries expire after Retention; their bucket listings are tiny.
	if f.log.rows, err = orm.NewModel[changeRow](db, orm.TableName(cfg.Log.Table),
		orm.WithTableOptions(orm.TableOptions{DefaultTTL: cfg.Retention, Comment: "change log of ORM models (changefeed.Feed)"})); err != nil {
		return nil, err
	}
	if f.checks, err = NewCheckpoints(db, cfg.Checkpoints); err != nil {
		return nil, err
	}
	return f, nil
}

// Models returns the feed's tables, for DB.Sync.
func (f *Feed) Models() []orm.SchemaModel { return append(f.log.Models(), f.checks.Model()) }

// Config returns the feed's configuration, defaults filled in.
func (f *Feed) Config() FeedConfig { return f.cfg }

// Attach implements orm.ChangeLog: NewModel calls it for each model made with
// RecordChanges(f). A later model of the same table replaces the earlier.
func (f *Feed) Attach(t *orm.Table, r orm.ChangeReader) error {
	if t == nil || r == nil {
		return errors.New("changefeed: Attach: nil table or reader")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tables[t.Name] = attached{table: t, reader: r}
	return nil
}

// table returns the attached table called name.
func (f *Feed) table(name string) (attached, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	a, ok := f.tables[name]
	if !ok {
		return a, fmt.Errorf("changefeed: %s: no model of table %s records its changes in this feed: make it with orm.RecordChanges(feed) in this process", f.cfg.Log.Table, name)
	}
	return a, nil
}

// MarkTTL implements orm.ChangeLog.
func (f *Feed) MarkTTL() time.Duration { return f.cfg.MarkTTL }

// keyOf returns the log key of change c: its table and partition, so that the
// changes of one partition, and so of one row, keep their order.
func keyOf(table string, partition [][]byte) string {
	b := append([]byte(table), 0)
	for _, p := range partition {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return string(b)
}

// rowOf returns the log row of change c, its head to be filled in.
func rowOf(c *orm.RowChange) changeRow {
	r := changeRow{Table: c.Table.Name, Op: string(c.Op), Tenant: c.Tenant, Changed: c.Changed,
		At: time.Now().UTC().Truncate(time.Millisecond), Values: make(map[string][]byte, len(c.Values))}
	for _, k := range c.Key {
		r.Key = append(r.Key, prefixed(k))
	}
	if rg := c.Range; rg != nil {
		r.RangeColumn, r.RangeLowerIncl, r.RangeUpperIncl = rg.Column, rg.LowerInclusive, rg.UpperInclusive
		if rg.Lower != nil {
			r.RangeLower = prefixed(rg.Lower)
		}
		if rg.Upper != nil {
			r.RangeUpper = prefixed(rg.Upper)
		}
	}
	for name, v := range c.Values {
		if v == nil {
			r.Nulls = append(r.Nulls, name)
			continue
		}
		r.Values[name] = prefixed(v)
	}
	return r
}

func prefixed(b []byte) []byte { return append([]byte{1}, b...) }

// unprefixed undoes prefixed; it reports false for bytes prefixed never made.
func unprefixed(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != 1 {
		return nil, false
	}
	return b[1:], true
}

// record is the record of one change (orm.ChangeRecord).
type record struct {
	f      *Feed
	key    string
	row    changeRow
	staged Staged
	ahead  bool
}

// ID implements orm.ChangeRecord.
func (r *record) ID() orm.UUID { return r.row.Seq }

// Deadline implements orm.ChangeRecord: a staged write must land before readers
// pass its place (half the lag), a write made ahead before readers give its
// record up (half AbandonAfter).
func (r *record) Deadline() time.Time {
	if r.ahead {
		return r.row.Seq.Time().Add(r.f.cfg.Log.AbandonAfter / 2)
	}
	return r.row.Seq.Time().Add(r.f.cfg.Log.Lag / 2)
}

// Done implements orm.ChangeRecord.
func (r *record) Done(ctx context.Context, err error) {
	ctx = context.WithoutCancel(ctx)
	f := r.f
	switch {
	case r.ahead && err == nil:
		// Spare readers the check; a reader that finds it unmarked checks.
		h := r.row.Head
		_ = f.log.rows.Patch(ctx, []any{h.Bucket, h.Shard, h.Seq}, []orm.Change{orm.Set("committed", true)})
	case r.ahead && !errors.Is(err, orm.ErrUncertain):
		f.log.Abandon(ctx, []changeRow{r.row})
	case r.ahead: // unknown: readers settle it from the row's mark
	case err == nil:
		f.log.Applied(r.staged)
		if time.Since(r.row.Seq.Time()) > f.cfg.Log.Lag/2 {
			// The write landed so late that readers may have passed its
			// record: record it again, now, under the same id.
			cp := r.copy(true)
			_ = f.log.Append(ctx, r.key, []changeRow{cp})
		}
	case errors.Is(err, orm.ErrUncertain):
		// The batch may have applied, or may yet (from the batch log), maybe
		// behind readers: a copy that readers deliver once they find the
		// original record stands in for it.
		cp := r.copy(false)
		_ = f.log.WriteAhead(ctx, r.key, []changeRow{cp})
	}
}

// copy returns a copy of the record for a second place in the log: committed,
// or pointing at the original for readers to check.
func (r *record) copy(committed bool) changeRow {
	cp := r.row
	cp.ID = r.row.id()
	cp.Head = Head{}
	if !committed {
		cp.OriginBucket, cp.OriginSeq = r.row.Bucket, r.row.Seq
	}
	return cp
}

// Stage implements orm.ChangeLog.
func (f *Feed) Stage(ctx context.Context, b *orm.Batch, c *orm.RowChange) (orm.ChangeRecord, error) {
	r := &record{f: f, key: keyOf(c.Table.Name, c.PartitionKey()), row: rowOf(c)}
	rows := []changeRow{r.row}
	var err error
	if r.staged, err = f.log.Stage(ctx, b, r.key, rows); err != nil {
		return nil, err
	}
	r.row = rows[0]
	return r, nil
}

// WriteAhead implements orm.ChangeLog.
func (f *Feed) WriteAhead(ctx context.Context, c *orm.RowChange) (orm.ChangeRecord, error) {
	r := &record{f: f, key: keyOf(c.Table.Name, c.PartitionKey()), ahead: true}
	row := rowOf(c)
	row.Ahead = true
	rows := []changeRow{row}
	if err := f.log.WriteAhead(ctx, r.key, rows); err != nil {
		return nil, err
	}
	r.row = rows[0]
	if late := time.Since(r.row.Seq.Time()); late > f.cfg.Log.Lag/2 {
		// Readers may be past the record already: the write must not be made.
		f.log.Abandon(ctx, rows)
		return nil, fmt.Errorf("changefeed: %s: writing the record of a change of %s took %v, more than half the lag (%v); nothing was written",
			f.cfg.Log.Table, c.Table.Name, late.Round(time.Millisecond), f.cfg.Log.Lag)
	}
	return r, nil
}

// verify decides about a record a reader found (see Verify).
func (f *Feed) verify(ctx context.Context, r *changeRow) (ok, wait bool, err error) {
	if r.Table == "" {
		return false, false, nil // a partial row: a commit mark that outlived its record
	}
	if r.Committed {
		return true, false, nil
	}
	age := time.Since(r.Seq.Time())
	if !r.OriginSeq.IsZero() {
		_, err := f.log.rows.Get(ctx, r.OriginBucket, r.Shard, r.OriginSeq)
		switch {
		case err == nil:
			return true, false, nil
		case !errors.Is(err, orm.ErrNotFound):
			return false, false, fmt.Errorf("changefeed: %s: checking the record of change %s of %s: %w", f.cfg.Log.Table, r.id(), r.Table, err)
		case age < f.cfg.Log.AbandonAfter:
			return false, true, nil
		}
		return false, false, nil
	}
	a, err := f.table(r.Table)
	if err != nil {
		return false, false, err
	}
	key, err := unprefixedAll(r.Key)
	if err != nil {
		return false, false, fmt.Errorf("changefeed: %s: change %s of %s: %w", f.cfg.Log.Table, r.id(), r.Table, err)
	}
	serial := age >= f.cfg.Log.AbandonAfter
	applied, err := a.reader.Applied(ctx, key, r.Seq, serial)
	if err != nil {
		return false, false, fmt.Errorf("changefeed: %s: checking change %s of %s: %w", f.cfg.Log.Table, r.id(), r.Table, err)
	}
	switch {
	case applied:
		return true, false, nil
	case !serial:
		return false, true, nil
	case age < f.cfg.MarkTTL:
		return false, false, nil // the mark would still be there
	}
	r.uncertain = true
	return true, false, nil
}

// unprefixedAll undoes prefixed on each of bs.
func unprefixedAll(bs [][]byte) ([][]byte, error) {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		v, ok := unprefixed(b)
		if !ok {
			return nil, fmt.Errorf("key value %d is malformed", i)
		}
		out[i] = v
	}
	return out, nil
}
