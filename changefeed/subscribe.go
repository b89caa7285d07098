package changefeed

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Change is one committed write of a model that records its changes, as a
// subscription gets it. Delivery is at least once: a change may come again (after
// a restart, or a write that landed late), with the same ID.
type Change struct {
	// ID identifies the change: dedupe by it.
	ID orm.UUID `json:"id"`
	// Table is the model's table.
	Table string `json:"table"`
	// Op is the kind of write.
	Op orm.ChangeOp `json:"op"`
	// Tenant is the tenant the write was made for ("" without one).
	Tenant string `json:"tenant,omitempty"`
	// At is when the writer recorded the change (its clock, to the millisecond).
	At time.Time `json:"at"`
	// Partition names the change's partition, "table/value/..." with the
	// partition key's values escaped (url.PathEscape): the changes of one
	// partition, and so of one row, share it and come in order.
	Partition string `json:"partition"`
	// Key holds the primary key values the write was given, by column: the
	// whole key, or a prefix of it (at least the partition key) for a delete
	// of the rows under that prefix (all of them, or those in Range) or a
	// write of static columns.
	Key map[string]any `json:"key"`
	// Range, on a delete of a slice of a partition (orm.Query.Delete with a
	// range on a clustering column), bounds the clustering column after Key's
	// last: the delete removed the rows under Key in Range, and no others. Nil
	// otherwise; a delete with a short Key and no Range removed every row
	// under Key. A consumer that cannot compare the bounds may treat the
	// change as a delete of every row under Key: it then does more work than
	// needed, never less.
	Range *KeyRange `json:"range,omitempty"`
	// Values holds the new values of the non-key columns the write set to a
	// value it knew, by column; nil stands for a null. The values have the Go
	// types of the model's fields.
	Values map[string]any `json:"values"`
	// Changed names, sorted, every non-key column the write changed, including
	// those whose new value only the row holds (see orm.RowChange).
	Changed []string `json:"changed"`
	// Row is the row as it was read after the change, by column, when the
	// subscription read it (see Subscription.Filter and ReadRow); nil otherwise,
	// when the row no longer exists, and for a delete with a Range (the first
	// row under Key, which a read of a key prefix finds, may be outside the
	// range and no row the delete concerned). It may be newer than the change.
	Row map[string]any `json:"row,omitempty"`
	// Uncertain is set on a change whose conditional write's outcome could not
	// be learnt: its writer did not learn it and no reader checked its row's
	// mark before the mark expired (FeedConfig.MarkTTL). It may not have
	// applied.
	Uncertain bool `json:"uncertain,omitempty"`
	// Late is set on a change whose write applied after the subscription had
	// passed its place in the log, found by a look-back (Config.LookBack): it
	// comes after changes of its partition that followed it.
	Late bool `json:"late,omitempty"`
	// Shard and Position are where the change sits in the log.
	Shard    int      `json:"-"`
	Position Position `json:"-"`
}

// KeyRange is the range of a clustering column that a delete of a slice of a
// partition covered (Change.Range; orm.KeyRange, decoded).
type KeyRange struct {
	// Column is the clustering column.
	Column string `json:"column"`
	// Lower is the lower bound, in the Go type of the column's field; nil when
	// the range has none (a bound is never a null).
	Lower any `json:"lower,omitempty"`
	// LowerInclusive makes Lower part of the range (>=, not >).
	LowerInclusive bool `json:"lower_inclusive,omitempty"`
	// Upper is the upper bound; nil when the range has none.
	Upper any `json:"upper,omitempty"`
	// UpperInclusive makes Upper part of the range (<=, not <).
	UpperInclusive bool `json:"upper_inclusive,omitempty"`
}

// Value returns column's value as the change holds it: from Values, Key or Row,
// in that order, and whether it was found.
func (c *Change) Value(column string) (any, bool) {
	for _, m := range []map[string]any{c.Values, c.Key, c.Row} {
		if v, ok := m[column]; ok {
			return v, true
		}
	}
	return nil, false
}

// Subscription says which changes to deliver, and to what.
type Subscription struct {
	// Name makes the subscription durable: each shard's position is
	// checkpointed under this name and held under a lease (Subscriber.Leases),
	// so a restarted process resumes after the last change handled, and one
	// process at a time handles a shard. Without a Name the subscription is
	// ephemeral: it starts from now and keeps no position.
	Name string
	// Table is the table whose changes to deliver; a model of it must record
	// its changes in the feed in this process. Required.
	Table string
	// Ops are the operations to deliver; none means all.
	Ops []orm.ChangeOp
	// Filter selects changes by the values of the row's columns (see package
	// filter); the zero Filter selects all. It is bound to the table when the
	// subscription starts, which fails for an unknown column or a value of the
	// wrong type. A column the filter reads that the change does not hold (a key
	// column it was not given, a column the write did not set) is read from the
	// row after the change: one more read per change.
	Filter filter.Filter
	// ReadRow reads the row after each change for Change.Row, whatever the
	// filter reads.
	ReadRow bool
	// Retry, when its If is set, runs a Handle that failed again under the
	// policy (package retry) before the error stops the subscription: for
	// handlers that deliver elsewhere and may fail for a while. Delivery is at
	// least once either way.
	Retry retry.Policy
	// Handle is called for each change, in log order within a shard (so in
	// order for each partition). An error stops the subscription: its position
	// stays before the change, and Subscribe returns the error. Required.
	//
	// For a durable subscription ctx carries the shard's lease
	// (lease.FromContext) and ends when it is lost, at the latest at its
	// deadline: fence writes with its Token.
	Handle func(ctx context.Context, c Change) error
}

// Subscriber runs subscriptions on a feed.
type Subscriber struct {
	// Feed is the change feed. Required.
	Feed *Feed
	// Leases holds the leases of durable subscriptions; required for them.
	Leases *lease.Manager
	// Batch is how many log entries are read between checkpoints (default 100).
	Batch int
	// Poll is how long to wait when the log has nothing new (default 250ms).
	Poll time.Duration
}

// bound is a subscription bound to its table.
type bound struct {
	Subscription
	table   attached
	matcher *filter.Matcher
	reads   []string // columns the filter reads
}

// Subscribe delivers the changes sub selects to sub.Handle until ctx ends (it
// then returns ctx's error), the handler fails, or (durable) a shard's lease is
// lost. Each shard of the feed is read on its own goroutine; a durable
// subscription's shards are taken one lease each, waiting while another process
// holds one. On a tenanted DB ctx must carry a tenant: a subscription sees that
// tenant's changes only.
func (s Subscriber) Subscribe(ctx context.Context, sub Subscription) error {
	b, err := s.bind(sub)
	if err != nil {
		return err
	}
	return s.run(ctx, b, false)
}

// CatchUp is Subscribe for a durable subscription that returns nil once every
// change readable now is handled: changes younger than the log's lag, and those
// after a conditional write still in flight, wait for a later call.
func (s Subscriber) CatchUp(ctx context.Context, sub Subscription) error {
	if sub.Name == "" {
		return errors.New("changefeed: CatchUp needs a durable subscription (a Name)")
	}
	b, err := s.bind(sub)
	if err != nil {
		return err
	}
	return s.run(ctx, b, true)
}

func (s Subscriber) bind(sub Subscription) (*bound, error) {
	switch {
	case s.Feed == nil:
		return nil, errors.New("changefeed: Subscriber.Feed is nil")
	case sub.Handle == nil:
		return nil, fmt.Errorf("changefeed: subscription %q to %s: nil Handle", sub.Name, sub.Table)
	case sub.Name != "" && s.Leases == nil:
		return nil, fmt.Errorf("changefeed: durable subscription %q to %s: Subscriber.Leases is nil", sub.Name, sub.Table)
	case s.Batch < 0 || s.Poll < 0:
		return nil, fmt.Errorf("changefeed: subscription %q to %s: negative Batch or Poll", sub.Name, sub.Table)
	}
	if sub.Retry.If != nil {
		if err := sub.Retry.Validate(); err != nil {
			return nil, fmt.Errorf("changefeed: subscription %q to %s: %w", sub.Name, sub.Table, err)
		}
	}
	for _, op := range sub.Ops {
		if op != orm.OpInsert && op != orm.OpUpdate && op != orm.OpDelete {
			return nil, fmt.Errorf("changefeed: subscription %q to %s: unknown operation %q", sub.Name, sub.Table, op)
		}
	}
	a, err := s.Feed.table(sub.Table)
	if err != nil {
		return nil, err
	}
	m, err := filter.Bind(sub.Filter, a.table)
	if err != nil {
		return nil, fmt.Errorf("changefeed: subscription %q to %s: %w", sub.Name, sub.Table, err)
	}
	return &bound{Subscription: sub, table: a, matcher: m, reads: m.Columns()}, nil
}

func (s Subscriber) run(ctx context.Context, b *bound, catchUp bool) error {
	cfg := FollowConfig{Batch: s.Batch, Poll: s.Poll, CatchUp: catchUp}
	handle := func(k int) func(ctx context.Context, r *changeRow) error {
		return func(ctx context.Context, r *changeRow) error {
			ch, ok, err := b.accept(ctx, k, r)
			if err == nil && ok {
				err = b.handle(ctx, ch)
			}
			if err != nil {
				return fmt.Errorf("changefeed: subscription %q to %s at change %s: %w", b.Name, b.Table, r.id(), err)
			}
			return nil
		}
	}
	return EachShard(ctx, s.Feed.cfg.Log.Shards, func(ctx context.Context, k int) error {
		if b.Name == "" {
			return s.Feed.log.Follow(ctx, k, s.Feed.now(), nil, cfg, handle(k))
		}
		return s.Feed.checks.Hold(ctx, s.Leases, shardName(b.Name, k), func(ctx context.Context, c *Claim) error {
			return s.Feed.log.Follow(ctx, k, Position{}, c, cfg, handle(k))
		})
	})
}

// now returns the position of the present: an ephemeral subscription starts there.
func (f *Feed) now() Position {
	t := time.Now()
	return Position{Bucket: f.log.bucketOf(t), Seq: orm.MinTimeUUID(t)}
}

// handle runs the subscription's Handle on c, under its Retry policy if it has one.
func (b *bound) handle(ctx context.Context, c Change) error {
	if b.Retry.If == nil {
		return b.Handle(ctx, c)
	}
	return retry.Do(ctx, b.Retry, func(ctx context.Context, _ int) error { return b.Handle(ctx, c) })
}

// accept decodes log row r into a Change and reports whether the subscription
// selects it.
func (b *bound) accept(ctx context.Context, shard int, r *changeRow) (Change, bool, error) {
	if r.Table != b.Table || (len(b.Ops) > 0 && !slices.Contains(b.Ops, orm.ChangeOp(r.Op))) {
		return Change{}, false, nil
	}
	ch, err := decode(b.table.table, r)
	if err != nil {
		return ch, false, err
	}
	ch.Shard = shard
	need := b.ReadRow
	for _, col := range b.reads {
		if _, ok := ch.Values[col]; ok {
			continue
		}
		if _, ok := ch.Key[col]; !ok {
			need = true
		}
	}
	if need && ch.Range == nil {
		if ch.Row, err = b.table.reader.Row(ctx, mustUnprefixed(r.Key)); err != nil {
			return ch, false, err
		}
	}
	vals := make(map[string]any, len(ch.Row)+len(ch.Key)+len(ch.Values))
	for _, m := range []map[string]any{ch.Row, ch.Key, ch.Values} {
		for k, v := range m {
			vals[k] = v
		}
	}
	ok, err := b.matcher.Match(vals)
	return ch, ok, err
}

// mustUnprefixed is unprefixedAll for a key decode already checked.
func mustUnprefixed(bs [][]byte) [][]byte {
	out, _ := unprefixedAll(bs)
	return out
}

// decode turns log row r, a change of table t, into a Change.
func decode(t *orm.Table, r *changeRow) (Change, error) {
	ch := Change{ID: r.id(), Table: r.Table, Op: orm.ChangeOp(r.Op), Tenant: r.Tenant, At: r.At, Changed: r.Changed,
		Uncertain: r.uncertain, Late: r.Late(), Position: r.Position(), Key: map[string]any{}, Values: map[string]any{}}
	bad := func(what string, err error) (Change, error) {
		return ch, fmt.Errorf("change %s of %s: %s: %w", ch.ID, t.Name, what, err)
	}
	key, err := unprefixedAll(r.Key)
	if err != nil {
		return bad("key", err)
	}
	pk := append(slices.Clip(t.PartitionKey), t.Clustering...)
	if len(key) > len(pk) {
		return bad("key", fmt.Errorf("%d values for a key of %d columns", len(key), len(pk)))
	}
	part := []string{t.Name}
	for i, b := range key {
		if ch.Key[pk[i].Name], err = t.Decode(pk[i].Name, b); err != nil {
			return bad("key", err)
		}
		if i < len(t.PartitionKey) {
			part = append(part, url.PathEscape(fmt.Sprint(ch.Key[pk[i].Name])))
		}
	}
	ch.Partition = strings.Join(part, "/")
	if r.RangeColumn != "" {
		if ch.Range, err = decodeRange(t, r, len(key)); err != nil {
			return bad("range", err)
		}
	}
	for name, raw := range r.Values {
		b, ok := unprefixed(raw)
		if !ok {
			return bad("column "+name, errors.New("malformed value"))
		}
		if ch.Values[name], err = t.Decode(name, b); err != nil {
			return bad("column "+name, err)
		}
	}
	for _, name := range r.Nulls {
		if t.Column(name) == nil {
			return bad("column "+name, orm.ErrUnknownColumn)
		}
		ch.Values[name] = nil
	}
	return ch, nil
}

// decodeRange returns the Range of log row r, a change of table t whose Key
// has n values: the range must be on the clustering column after them.
func decodeRange(t *orm.Table, r *changeRow, n int) (*KeyRange, error) {
	i := n - len(t.PartitionKey)
	if i < 0 || i >= len(t.Clustering) || t.Clustering[i].Name != r.RangeColumn {
		return nil, fmt.Errorf("column %s is not the clustering column after a key of %d values", r.RangeColumn, n)
	}
	rg := &KeyRange{Column: r.RangeColumn, LowerInclusive: r.RangeLowerIncl, UpperInclusive: r.RangeUpperIncl}
	for _, b := range []struct {
		raw []byte
		to  *any
	}{{r.RangeLower, &rg.Lower}, {r.RangeUpper, &rg.Upper}} {
		if b.raw == nil {
			continue
		}
		v, ok := unprefixed(b.raw)
		if !ok {
			return nil, errors.New("malformed bound")
		}
		var err error
		if *b.to, err = t.Decode(r.RangeColumn, v); err != nil {
			return nil, err
		}
	}
	return rg, nil
}

// shardName names the lease and checkpoint of shard k of a durable subscription.
func shardName(name string, k int) string {
	return fmt.Sprintf("subscription/%s#%d", name, k)
}
