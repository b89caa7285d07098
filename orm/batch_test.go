package orm_test

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestLoggedBatchAcrossTables(t *testing.T) {
	db, log := observedDB(t)
	accounts := newModel[Account](t, db)
	events := newModel[Event](t, db)
	ctx := t.Context()
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	if err := accounts.Batch(b).Insert(ctx, &Account{ID: "batch-1", Owner: "ann", Balance: 10}); err != nil {
		t.Fatal(err)
	}
	if err := events.Batch(b).Insert(ctx, &Event{Stream: "batch-1", Bucket: 0, Seq: 1, Kind: "opened"}); err != nil {
		t.Fatal(err)
	}
	if err := accounts.Batch(b).Patch(ctx, []any{"batch-1"}, []orm.Change{orm.Set("balance", int64(20))}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 3 || b.Partitions() != 2 {
		t.Fatalf("len %d partitions %d", b.Len(), b.Partitions())
	}
	log.takeBatches()
	if err := b.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// The driver sent it as one logged batch of the three statements.
	if sent := log.takeBatches(); len(sent) != 1 || sent[0].kind != gocql.LoggedBatch || len(sent[0].stmts) != 3 {
		t.Fatalf("batches sent: %+v, want one logged batch of 3 statements", sent)
	}
	a, err := accounts.Get(ctx, "batch-1")
	if err != nil || a.Balance != 20 {
		t.Fatalf("account %+v %v", a, err)
	}
	if _, err := events.Get(ctx, "batch-1", int32(0), int64(1)); err != nil {
		t.Fatal(err)
	}
}

func TestConditionalBatchAllOrNothing(t *testing.T) {
	db := openDB(t)
	events := newModel[Event](t, db)
	ctx := t.Context()
	appendEvents := func(from, n int) error {
		b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
		for i := range n {
			e := Event{Stream: "cas-batch", Bucket: 0, Seq: int64(from + i), Kind: "e"}
			if err := events.Batch(b).InsertIfNotExists(ctx, &e); err != nil {
				return err
			}
		}
		return b.Exec(ctx)
	}
	if err := appendEvents(1, 3); err != nil {
		t.Fatal(err)
	}
	// Overlaps seq 3: nothing of it is applied.
	if err := appendEvents(3, 3); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("overlapping conditional batch: %v", err)
	}
	n, _ := events.Query().Where(orm.Eq("stream", "cas-batch"), orm.Eq("bucket", int32(0))).Count(ctx)
	if n != 3 {
		t.Fatalf("%d rows after a refused conditional batch, want 3", n)
	}
	// Conditional batches across partitions are refused before sending.
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	for i := range 2 {
		e := Event{Stream: "cas-batch", Bucket: int32(i + 1), Seq: 1}
		if err := events.Batch(b).InsertIfNotExists(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Exec(ctx); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("cross-partition conditional batch: %v", err)
	}
}

func TestBatchGuardrails(t *testing.T) {
	db, log := observedDB(t)
	events := newModel[Event](t, db)
	views := newModel[PostViews](t, db)
	members := newModel[Member](t, db)
	ctx := t.Context()

	// Unlogged: one partition by default.
	b := db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{})
	for i := range 2 {
		if err := events.Batch(b).Insert(ctx, &Event{Stream: "g", Bucket: int32(i), Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Exec(ctx); !errors.Is(err, orm.ErrBatchTooLarge) || !strings.Contains(err.Error(), "spans 2 partitions, limit 1") {
		t.Fatalf("unlogged across partitions: %v", err)
	}
	// Statement count.
	b = db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: 5})
	for i := range 6 {
		_ = events.Batch(b).Insert(ctx, &Event{Stream: "g", Bucket: 0, Seq: int64(i)})
	}
	if err := b.Exec(ctx); !errors.Is(err, orm.ErrBatchTooLarge) {
		t.Fatalf("too many statements: %v", err)
	}
	// Size.
	b = db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	_ = events.Batch(b).Insert(ctx, &Event{Stream: "g", Bucket: 0, Seq: 1, Note: strings.Repeat("x", 60<<10)})
	if err := b.Exec(ctx); !errors.Is(err, orm.ErrBatchTooLarge) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("too large: %v", err)
	}
	// Kinds: counters only in counter batches, and the reverse.
	b = db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	if err := views.Batch(b).Patch(ctx, []any{"x"}, []orm.Change{orm.Increment("views", 1)}); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("counter in a logged batch: %v", err)
	}
	// Unique constraints cannot be batched.
	if err := members.Batch(b).Insert(ctx, &Member{ID: orm.NewUUID(), Email: "x@example.com"}); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("unique model in a batch: %v", err)
	}
	// Every batch above was refused before sending.
	if sent := log.takeBatches(); len(sent) != 0 {
		t.Fatalf("refused batches reached the driver: %+v", sent)
	}
	// A counter batch works.
	cb := db.NewBatch(orm.CounterBatch, orm.BatchLimits{})
	for range 3 {
		if err := views.Batch(cb).Patch(ctx, []any{"batched"}, []orm.Change{orm.Increment("views", 5)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cb.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if sent := log.takeBatches(); len(sent) != 1 || sent[0].kind != gocql.CounterBatch {
		t.Fatalf("batches sent: %+v, want one counter batch", sent)
	}
	v, err := views.Get(ctx, "batched")
	if err != nil || v.Views != 15 {
		t.Fatalf("counter batch: %+v %v", v, err)
	}
}

func TestBulkInsert(t *testing.T) {
	db := openDB(t)
	hooked := newModel[Hooked](t, db, orm.TableName("bulk_hooked"))
	ctx := t.Context()
	const n = 2000
	rows := func(yield func(Hooked) bool) {
		for i := range n {
			h := Hooked{ID: int64(i), Email: fmt.Sprintf("u%d@example.com", i), Age: 20}
			if i%100 == 7 {
				h.Email = "broken" // fails validation
			}
			if !yield(h) {
				return
			}
		}
	}
	var calls, lastWritten, lastFailed int
	report, err := hooked.BulkInsert(ctx, iter.Seq[Hooked](rows), orm.BulkOptions{
		Concurrency: 8, ProgressEvery: 500,
		Progress: func(w, f int) { calls++; lastWritten, lastFailed = w, f },
	})
	if err != nil {
		t.Fatal(err)
	}
	if report.Written != n-20 || len(report.Failed) != 20 {
		t.Fatalf("written %d failed %d", report.Written, len(report.Failed))
	}
	for _, f := range report.Failed {
		if f.Index%100 != 7 || !errors.Is(f.Err, orm.ErrValidation) {
			t.Fatalf("row %d failed with %v", f.Index, f.Err)
		}
	}
	if calls < 4 || lastWritten != n-20 || lastFailed != 20 {
		t.Fatalf("progress: %d calls, last %d/%d", calls, lastWritten, lastFailed)
	}
	count, err := hooked.Query().AllowFiltering().Count(ctx)
	if err != nil || count != n-20 {
		t.Fatalf("count %d %v", count, err)
	}

	// A cancelled context stops the run and says so.
	cctx, cancel := withTimeout(t, 30*time.Millisecond)
	defer cancel()
	endless := func(yield func(Hooked) bool) {
		for i := 0; ; i++ {
			if !yield(Hooked{ID: int64(n + i), Email: "e@example.com"}) {
				return
			}
		}
	}
	report, err = hooked.BulkInsert(cctx, endless, orm.BulkOptions{Concurrency: 4})
	if err == nil || report.Written == 0 {
		t.Fatalf("cancelled bulk insert: %+v %v", report.Written, err)
	}
}

// Stream guards a partition with a static head version, as an event store does.
type StreamRow struct {
	Stream  string `cql:"stream" orm:"pk"`
	Version int64  `cql:"version" orm:"ck"`
	Head    *int64 `cql:"head" orm:"static"`
	Data    string `cql:"data"`
}

func TestConditionalBatchOnStaticColumn(t *testing.T) {
	db := openDB(t)
	rows := newModel[StreamRow](t, db)
	ctx := t.Context()
	appendRows := func(expected *int64, n int) error {
		b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
		from := int64(0)
		if expected != nil {
			from = *expected
		}
		head := from + int64(n)
		var cond any = expected
		if expected == nil {
			cond = nil
		}
		if err := rows.Batch(b).PatchIf(ctx, []any{"s"}, []orm.Predicate{orm.Eq("head", cond)}, []orm.Change{orm.Set("head", head)}); err != nil {
			return err
		}
		for i := range n {
			if err := rows.Batch(b).Insert(ctx, &StreamRow{Stream: "s", Version: from + int64(i) + 1, Data: "d"}); err != nil {
				return err
			}
		}
		return b.Exec(ctx)
	}
	if err := appendRows(nil, 2); err != nil {
		t.Fatal(err)
	}
	err := appendRows(nil, 2)
	var ce *orm.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("second create: %v", err)
	}
	if cur := ce.Current.(map[string]any); cur["head"] != int64(2) {
		t.Fatalf("current %v", cur)
	}
	if err := appendRows(ptr(int64(2)), 3); err != nil {
		t.Fatal(err)
	}
	if err := appendRows(ptr(int64(2)), 1); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("stale expected version: %v", err)
	}
	n, _ := rows.Query().Where(orm.Eq("stream", "s")).Count(ctx)
	if n != 5 {
		t.Fatalf("%d rows", n)
	}
	// A static-only patch takes the partition key alone.
	if err := rows.Patch(ctx, []any{"s"}, []orm.Change{orm.Set("head", int64(5))}); err != nil {
		t.Fatal(err)
	}
	if err := rows.Patch(ctx, []any{"s"}, []orm.Change{orm.Set("data", "x")}); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("regular column by partition key: %v", err)
	}
}
