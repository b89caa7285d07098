package orm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Parcel is a tenant-scoped model keyed by tuples.
type Parcel struct {
	Zone Pair   `cql:"zone" orm:"pk,tuple"`
	Slot Pair   `cql:"slot" orm:"ck,tuple"`
	Note string `cql:"note"`
}

// TestTenancyPurgeTupleKey: PurgeTenant removes the rows of a table whose partition
// key is a tuple, in the shared tables and in a tenant's own keyspace, and nobody
// else's.
func TestTenancyPurgeTupleKey(t *testing.T) {
	db, _ := tenantDB(t)
	parcels, err := orm.NewModel[Parcel](db, orm.TableName("parcel_purge"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tenants := []string{"acme", "globex", "big"}
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		if err := db.Sync(tctx, parcels); err != nil {
			t.Fatal(err)
		}
		for i := range int32(2) {
			p := Parcel{Zone: Pair{i, "z"}, Slot: Pair{1, "s"}, Note: id}
			if err := parcels.Insert(tctx, &p); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
	}
	for _, id := range []string{"acme", "big"} {
		tctx := tenant.With(ctx, id)
		if n, err := parcels.PurgeTenant(tctx); err != nil || n != 2 {
			t.Fatalf("purge %s: %d partitions, %v; want 2", id, n, err)
		}
		if _, err := parcels.Get(tctx, Pair{0, "z"}, Pair{1, "s"}); !errors.Is(err, orm.ErrNotFound) {
			t.Errorf("%s after its purge: %v, want ErrNotFound", id, err)
		}
	}
	globex := tenant.With(ctx, "globex")
	for i := range int32(2) {
		if p, err := parcels.Get(globex, Pair{i, "z"}, Pair{1, "s"}); err != nil || p.Note != "globex" {
			t.Errorf("globex after the others' purges: %+v, %v", p, err)
		}
	}
}

// TestTenancyColumnClashesWithLookup: a tenant column named like a column of a
// unique lookup table is refused when the model is made, not by the server when
// the lookup table is created.
func TestTenancyColumnClashesWithLookup(t *testing.T) {
	for _, col := range []string{"claimed_at", "owner_team", "owner_id"} {
		db, err := buildDB(t).WithTenancy(orm.Tenancy{Column: col})
		if err != nil {
			t.Fatal(err)
		}
		_, err = orm.NewModel[Staff](db)
		if !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), col) || !strings.Contains(err.Error(), "staff_by_email") {
			t.Errorf("tenant column %s: %v, want ErrInvalidModel naming it and the lookup table", col, err)
		}
	}
	db, err := buildDB(t).WithTenancy(orm.Tenancy{Column: "org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orm.NewModel[Staff](db); err != nil {
		t.Errorf("tenant column org: %v", err)
	}
}

// Hits is a tenant-scoped counter table.
type Hits struct {
	Page  string      `cql:"page" orm:"pk"`
	Views orm.Counter `cql:"views"`
}

// Thread is a tenant-scoped model with a static column.
type Thread struct {
	Board string `cql:"board" orm:"pk"`
	Seq   int64  `cql:"seq" orm:"ck"`
	Title string `cql:"title" orm:"static"`
	Body  string `cql:"body"`
}

// TestTenancyStatements runs, for two tenants sharing the tables, the statements whose
// bound values the tenant column's shifts: counters (alone and batched), a static
// patch, USING TTL and TIMESTAMP, conditions, a column delete, a range delete, IN
// lists and tuple keys. Each tenant writes the same keys, and every write of one must
// leave the other's row as it was.
func TestTenancyStatements(t *testing.T) {
	db, _ := tenantDB(t)
	ctx := t.Context()
	acme, globex := tenant.With(ctx, "acme"), tenant.With(ctx, "globex")
	hits, err := orm.NewModel[Hits](db, orm.TableName("hits_paths"))
	if err != nil {
		t.Fatal(err)
	}
	threads, err := orm.NewModel[Thread](db, orm.TableName("thread_paths"))
	if err != nil {
		t.Fatal(err)
	}
	parcels, err := orm.NewModel[Parcel](db, orm.TableName("parcel_paths"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, hits, threads, parcels); err != nil {
		t.Fatal(err)
	}
	body := func(tctx context.Context, seq int64) string {
		t.Helper()
		r, err := threads.Get(tctx, "b", seq)
		if errors.Is(err, orm.ErrNotFound) {
			return "(none)"
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.Body
	}

	// Counters, alone and in a counter batch.
	if err := hits.Patch(acme, []any{"p"}, []orm.Change{orm.Increment("views", 2)}); err != nil {
		t.Fatal(err)
	}
	if err := hits.Patch(globex, []any{"p"}, []orm.Change{orm.Increment("views", 5)}); err != nil {
		t.Fatal(err)
	}
	cb := db.NewBatch(orm.CounterBatch, orm.BatchLimits{})
	if err := hits.Batch(cb).Patch(acme, []any{"p"}, []orm.Change{orm.Increment("views", 1)}); err != nil {
		t.Fatal(err)
	}
	if err := hits.Batch(cb).Patch(globex, []any{"p"}, []orm.Change{orm.Increment("views", 10)}); err != nil {
		t.Fatal(err)
	}
	if err := cb.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for tctx, want := range map[context.Context]orm.Counter{acme: 3, globex: 15} {
		if h, err := hits.Get(tctx, "p"); err != nil || h.Views != want {
			id, _ := tenant.From(tctx)
			t.Errorf("counter of %s: %+v, %v; want %d", id, h, err, want)
		}
	}

	for _, tctx := range []context.Context{acme, globex} {
		id, _ := tenant.From(tctx)
		for seq := range int64(4) {
			if err := threads.Insert(tctx, &Thread{Board: "b", Seq: seq, Title: "t", Body: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A static patch by partition key, plain and conditional.
	if err := threads.Patch(acme, []any{"b"}, []orm.Change{orm.Set("title", "A")}); err != nil {
		t.Fatal(err)
	}
	if r, err := threads.Get(globex, "b", int64(0)); err != nil || r.Title != "t" {
		t.Errorf("acme's static patch reached globex: %+v, %v", r, err)
	}
	if err := threads.PatchIf(globex, []any{"b"}, []orm.Predicate{orm.Eq("title", "A")}, []orm.Change{orm.Set("title", "G")}); !errors.Is(err, orm.ErrConflict) {
		t.Errorf("globex's static condition saw acme's value: %v", err)
	}
	if err := threads.PatchIf(globex, []any{"b"}, []orm.Predicate{orm.Eq("title", "t")}, []orm.Change{orm.Set("title", "G")}); err != nil {
		t.Errorf("globex's static condition on its own value: %v", err)
	}

	// USING TTL and TIMESTAMP come before SET in an UPDATE, after VALUES in an INSERT.
	ts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	if err := threads.Update(acme, &Thread{Board: "b", Seq: 5, Body: "acme-ttl"}, orm.WithTTL(time.Hour), orm.WithTimestamp(ts)); err != nil {
		t.Fatal(err)
	}
	if err := threads.Insert(globex, &Thread{Board: "b", Seq: 9, Body: "globex-ttl"}, orm.WithTTL(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := threads.Patch(acme, []any{"b", int64(2)}, []orm.Change{orm.Set("body", "acme-patch")}, orm.WithTTL(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ctx     context.Context
		seq     int64
		body    string
		ttl     time.Duration // about
		written time.Time     // zero: not checked
	}{
		{acme, 5, "acme-ttl", time.Hour, ts},
		{globex, 9, "globex-ttl", 2 * time.Hour, time.Time{}},
		{acme, 2, "acme-patch", 3 * time.Hour, time.Time{}},
		{globex, 2, "globex", 0, time.Time{}},
	} {
		meta, err := threads.CellMeta(tc.ctx, "body", "b", tc.seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := body(tc.ctx, tc.seq); got != tc.body || meta.TTL > tc.ttl || meta.TTL < tc.ttl-time.Minute ||
			(!tc.written.IsZero() && !meta.WriteTime.Equal(tc.written)) {
			t.Errorf("seq %d: body %q, %+v; want %q, TTL about %v, written %v", tc.seq, got, meta, tc.body, tc.ttl, tc.written)
		}
	}
	if got := body(acme, 9) + body(globex, 5); got != "(none)(none)" {
		t.Errorf("the other tenant's TTL writes are seen: %s", got)
	}

	// A condition is checked against the tenant's own row only.
	if err := threads.DeleteIf(acme, []any{"b", int64(3)}, orm.Eq("body", "globex")); !errors.Is(err, orm.ErrConflict) {
		t.Errorf("acme's delete conditioned on globex's value: %v, want ErrConflict", err)
	}
	if err := threads.DeleteIf(acme, []any{"b", int64(3)}, orm.Eq("body", "acme")); err != nil {
		t.Fatal(err)
	}
	if err := threads.UpdateIf(globex, &Thread{Board: "b", Seq: 3, Body: "x"}, []orm.Predicate{orm.Eq("body", "acme")}); !errors.Is(err, orm.ErrConflict) {
		t.Errorf("globex's update conditioned on acme's value: %v, want ErrConflict", err)
	}
	if got := body(globex, 3); got != "globex" {
		t.Errorf("globex's row after acme's conditional delete: %q", got)
	}
	// DeleteColumns.
	if err := threads.DeleteColumns(globex, []any{"b", int64(0)}, "body"); err != nil {
		t.Fatal(err)
	}
	if got := body(acme, 0); got != "acme" {
		t.Errorf("acme's row after globex's DeleteColumns: %q", got)
	}
	// A range delete, and a count of what is left.
	if err := threads.Query().Where(orm.Eq("board", "b"), orm.Gte("seq", int64(1))).HardDelete(acme); err != nil {
		t.Fatal(err)
	}
	for tctx, want := range map[context.Context]int64{acme: 1, globex: 5} {
		if n, err := threads.Query().Where(orm.Eq("board", "b")).Count(tctx); err != nil || n != want {
			t.Errorf("rows left: %d, %v; want %d", n, err, want)
		}
	}
	// IN lists on the partition and clustering keys.
	n := 0
	for r, err := range threads.Query().Where(orm.In("board", "a", "b"), orm.In("seq", int64(0), int64(1), int64(9))).All(globex) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Body == "acme" || r.Body == "acme-ttl" {
			t.Errorf("globex's IN query read acme's row %+v", r)
		}
		n++
	}
	if n != 3 {
		t.Errorf("globex's IN query: %d rows, want 3", n)
	}

	// Tuple keys.
	for _, tctx := range []context.Context{acme, globex} {
		id, _ := tenant.From(tctx)
		if err := parcels.Insert(tctx, &Parcel{Zone: Pair{1, "z"}, Slot: Pair{2, "s"}, Note: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := parcels.Patch(acme, []any{Pair{1, "z"}, Pair{2, "s"}}, []orm.Change{orm.Set("note", "acme-2")}); err != nil {
		t.Fatal(err)
	}
	for r, err := range parcels.Query().Where(orm.Eq("zone", Pair{1, "z"}), orm.Eq("slot", Pair{2, "s"})).All(globex) {
		if err != nil || r.Note != "globex" {
			t.Errorf("globex's tuple-keyed row: %+v, %v", r, err)
		}
	}
	if err := parcels.Delete(globex, Pair{1, "z"}, Pair{2, "s"}); err != nil {
		t.Fatal(err)
	}
	if r, err := parcels.Get(acme, Pair{1, "z"}, Pair{2, "s"}); err != nil || r.Note != "acme-2" {
		t.Errorf("acme's tuple-keyed row after globex's delete: %+v, %v", r, err)
	}
}

// TestTenancyStaleClaim: the take-over of a stale unique claim reads and updates the
// claiming tenant's lookup row only. Tenant globex has a stale claim of an email,
// naming as owner a key that in tenant acme is a row holding that very email: acme
// claims the email in its own lookup row without touching globex's, and globex takes
// its stale claim over, since its own owner row does not exist.
func TestTenancyStaleClaim(t *testing.T) {
	db, _ := tenantDB(t)
	ctx := t.Context()
	acme, globex := tenant.With(ctx, "acme"), tenant.With(ctx, "globex")
	members, err := orm.NewModel[Staff](db, orm.TableName("staff_stale"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, members); err != nil {
		t.Fatal(err)
	}
	lookup := `"` + env.Keyspace() + `"."staff_stale_by_email"`
	s := db.Session()
	if err := s.Query(`INSERT INTO `+lookup+` ("tenant_id", "email", "owner_team", "owner_id", "claimed_at") VALUES (?, ?, ?, ?, ?)`,
		"globex", "x@x.org", "red", int64(1), time.Now().Add(-2*orm.StaleClaimAge)).Exec(); err != nil {
		t.Fatal(err)
	}
	owner := func(id string) (string, int64) {
		t.Helper()
		var team string
		var n int64
		if err := s.Query(`SELECT "owner_team", "owner_id" FROM `+lookup+` WHERE "tenant_id" = ? AND "email" = ?`, id, "x@x.org").Scan(&team, &n); err != nil {
			t.Fatalf("lookup row of %s: %v", id, err)
		}
		return team, n
	}
	if err := members.Insert(acme, &Staff{Team: "red", ID: 1, Email: "x@x.org", Note: "acme"}); err != nil {
		t.Fatal(err)
	}
	if team, id := owner("globex"); team != "red" || id != 1 {
		t.Errorf("acme's claim changed globex's lookup row: owner %s/%d", team, id)
	}
	if err := members.Insert(acme, &Staff{Team: "red", ID: 2, Email: "x@x.org"}); !errors.Is(err, orm.ErrConflict) {
		t.Errorf("acme's email twice: %v, want ErrConflict", err)
	}
	if err := members.Insert(globex, &Staff{Team: "blue", ID: 2, Email: "x@x.org", Note: "globex"}); err != nil {
		t.Fatalf("globex's stale claim, whose owner is only acme's row, not taken over: %v", err)
	}
	if team, id := owner("globex"); team != "blue" || id != 2 {
		t.Errorf("globex's lookup row after its take-over: owner %s/%d, want blue/2", team, id)
	}
	if team, id := owner("acme"); team != "red" || id != 1 {
		t.Errorf("acme's lookup row after globex's take-over: owner %s/%d, want red/1", team, id)
	}
}

// TestTenancyCursorAcrossStrategies: a page cursor of a keyspace tenant is refused
// for a tenant of the shared tables and the other way round, and so is an edited one.
func TestTenancyCursorAcrossStrategies(t *testing.T) {
	db, _ := tenantDB(t)
	ctx := t.Context()
	threads, err := orm.NewModel[Thread](db, orm.TableName("thread_cursor"))
	if err != nil {
		t.Fatal(err)
	}
	acme, big := tenant.With(ctx, "acme"), tenant.With(ctx, "big")
	next := map[context.Context]string{}
	for _, tctx := range []context.Context{acme, big} {
		if err := db.Sync(tctx, threads); err != nil {
			t.Fatal(err)
		}
		id, _ := tenant.From(tctx)
		for seq := range int64(3) {
			if err := threads.Insert(tctx, &Thread{Board: "b", Seq: seq, Body: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	q := threads.Query().Where(orm.Eq("board", "b")).With(orm.WithPageSize(1))
	for _, tctx := range []context.Context{acme, big} {
		p, err := q.Page(tctx, "")
		if err != nil || p.Next == "" {
			t.Fatalf("first page: %v (next %q)", err, p.Next)
		}
		next[tctx] = p.Next
	}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		cursor string
	}{
		{"big's cursor used by acme", acme, next[big]},
		{"acme's cursor used by big", big, next[acme]},
		{"acme's cursor edited", acme, next[acme][:len(next[acme])-1] + string(next[acme][len(next[acme])-1]^1)},
	} {
		if p, err := q.Page(tc.ctx, tc.cursor); !errors.Is(err, orm.ErrInvalidQuery) {
			t.Errorf("%s: %+v, %v; want ErrInvalidQuery", tc.name, p, err)
		}
	}
	for _, tctx := range []context.Context{acme, big} {
		id, _ := tenant.From(tctx)
		if p, err := q.Page(tctx, next[tctx]); err != nil || len(p.Items) != 1 || p.Items[0].Body != id || p.Items[0].Seq != 1 {
			t.Errorf("%s's own cursor: %+v, %v", id, p, err)
		}
	}
}

// TestTenancySharedTableName: a tenant-scoped model and a model without tenancy of
// one table do not share it: whichever made the table, Sync of the other refuses with
// the primary key difference, and writes of the other fail instead of landing in it.
func TestTenancySharedTableName(t *testing.T) {
	tdb, _ := tenantDB(t)
	base := openDB(t)
	acme := tenant.With(t.Context(), "acme")
	row := func() *Country { return &Country{Code: "nl", Name: "x"} }
	for _, tc := range []struct {
		table       string
		first, then *orm.DB
	}{
		{"shared_plain_first", base, tdb},
		{"shared_tenanted_first", tdb, base},
	} {
		first, err := orm.NewModel[Country](tc.first, orm.TableName(tc.table))
		if err != nil {
			t.Fatal(err)
		}
		then, err := orm.NewModel[Country](tc.then, orm.TableName(tc.table))
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.first.Sync(acme, first); err != nil {
			t.Fatal(err)
		}
		if err := tc.then.Sync(acme, then); !errors.Is(err, orm.ErrUnsafeSchemaChange) || !strings.Contains(err.Error(), "tenant_id") {
			t.Errorf("%s: Sync of the other model: %v, want ErrUnsafeSchemaChange naming tenant_id", tc.table, err)
		}
		if err := then.Insert(acme, row()); err == nil {
			t.Errorf("%s: the other model's insert was written", tc.table)
		}
		if _, err := then.Get(acme, "nl"); err == nil || errors.Is(err, orm.ErrNotFound) {
			t.Errorf("%s: the other model's get: %v, want the server's refusal", tc.table, err)
		}
	}
}

// oncePlacer serves each call's first placement and refuses the later ones, as a
// registry does for a tenant suspended mid-call.
type oncePlacer struct{ calls atomic.Int32 }

func (p *oncePlacer) Keyspace(context.Context, string) (string, error) {
	if p.calls.Add(1) > 1 {
		return "", fmt.Errorf("placer: %w", tenant.ErrSuspended)
	}
	return "", nil
}

// TestTenancyPlacedOncePerCall: a write with unique constraints (read the old row,
// claim, write, release) asks the Placer once, so a Placer that starts refusing
// mid-call cannot leave claims without their row, or a row without its claims; and a
// call it refuses at once claims nothing.
func TestTenancyPlacedOncePerCall(t *testing.T) {
	p := &oncePlacer{}
	db, err := openDB(t).WithTenancy(orm.Tenancy{Placer: p})
	if err != nil {
		t.Fatal(err)
	}
	members, err := orm.NewModel[Staff](db, orm.TableName("staff_placed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), members); err != nil {
		t.Fatal(err)
	}
	acme := tenant.With(t.Context(), "acme")
	claims := func() int {
		t.Helper()
		var n int
		if err := db.Session().Query(`SELECT COUNT(*) FROM "` + env.Keyspace() + `"."staff_placed_by_email" WHERE "tenant_id" = 'acme' ALLOW FILTERING`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name   string
		call   func() error
		claims int
	}{
		{"insert", func() error { return members.Insert(acme, &Staff{Team: "t", ID: 1, Email: "a@x.org"}) }, 1},
		{"update", func() error { return members.Update(acme, &Staff{Team: "t", ID: 1, Email: "b@x.org"}) }, 1},
		{"delete", func() error { return members.Delete(acme, "t", int64(1)) }, 0},
	} {
		p.calls.Store(0)
		if err := tc.call(); err != nil || p.calls.Load() != 1 {
			t.Fatalf("%s: %v, %d placements; want 1", tc.name, err, p.calls.Load())
		}
		if n := claims(); n != tc.claims {
			t.Errorf("after the %s: %d claims, want %d", tc.name, n, tc.claims)
		}
	}
	p.calls.Store(1) // refuse the next call at once
	if err := members.Insert(acme, &Staff{Team: "t", ID: 2, Email: "c@x.org"}); !errors.Is(err, tenant.ErrSuspended) {
		t.Errorf("insert refused by the Placer: %v", err)
	}
	if n := claims(); n != 0 {
		t.Errorf("a refused insert left %d claims", n)
	}
}
