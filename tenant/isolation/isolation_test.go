// Package isolation_test proves tenant isolation from the outside: random operations
// of many tenants at once, under both strategies, with every read checked for rows of
// another tenant.
package isolation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("isolation")

func TestMain(m *testing.M) { env.Main(m) }

// Item has every access path: a composite key, a unique email, SAI indexes for
// equality, CONTAINS and ranges, and a free column. Owner is the tenant that wrote
// the row: a row whose Owner is not the reader's tenant is a leak.
type Item struct {
	Bin   int32    `cql:"bin" orm:"pk"`
	Slot  int32    `cql:"slot" orm:"ck"`
	Email string   `cql:"email" orm:"unique"`
	Color string   `cql:"color" orm:"index"`
	Tags  []string `cql:"tags" orm:"set,index"`
	Size  int32    `cql:"size" orm:"index"`
	Owner string   `cql:"owner"`
	N     int32    `cql:"n"`
}

// Tally has no unique constraint, so it goes in batches.
type Tally struct {
	Bin   int32  `cql:"bin" orm:"pk"`
	Slot  int32  `cql:"slot" orm:"ck"`
	Owner string `cql:"owner"`
	N     int32  `cql:"n"`
}

// Noted is the event the tenants append; Owner is the appending tenant.
type Noted struct {
	Owner string `json:"owner"`
	N     int    `json:"n"`
}

func (Noted) EventType() string { return "isolation.noted" }

// placement puts every tenant it names in its own keyspace.
type placement map[string]string

func (p placement) Keyspace(_ context.Context, id string) (string, error) { return p[id], nil }

const (
	tenantsPerRun = 8
	opsPerTenant  = 1250 // 10,000 per strategy
	bins          = 3
	slots         = 6
)

var colors = []string{"red", "green", "blue"}

func seed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("ISOLATION_SEED"), 10, 64); err == nil {
		return s
	}
	return 20261202
}

func TestIsolation(t *testing.T) {
	s := seed()
	t.Logf("seed %d (set ISOLATION_SEED to replay another)", s)
	for _, strategy := range []string{"partition", "keyspace"} {
		t.Run(strategy, func(t *testing.T) { runIsolation(t, strategy, s) })
	}
}

// world is one strategy's deployment: the tenanted DB, its models and event store.
type world struct {
	db      *orm.DB
	items   *orm.Model[Item]
	tallies *orm.Model[Tally]
	store   *eventsourcing.Store
	leases  *lease.Manager
	events  *eventsourcing.Registry
	ids     []string
}

func newWorld(t *testing.T, strategy string) *world {
	t.Helper()
	ctx := t.Context()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{}
	place := placement{}
	for i := range tenantsPerRun {
		id := fmt.Sprintf("%s-%d", strategy[:4], i)
		w.ids = append(w.ids, id)
		if strategy == "keyspace" {
			place[id] = env.KeyspacePrefix() + tenant.Ident(id)
		}
	}
	if w.db, err = base.WithTenancy(orm.Tenancy{Placer: place}); err != nil {
		t.Fatal(err)
	}
	table := func(name string) orm.ModelOption { return orm.TableName(strategy + "_" + name) }
	if w.items, err = orm.NewModel[Item](w.db, table("items")); err != nil {
		t.Fatal(err)
	}
	if w.tallies, err = orm.NewModel[Tally](w.db, table("tallies")); err != nil {
		t.Fatal(err)
	}
	if w.store, err = eventsourcing.NewStore(w.db, eventsourcing.StoreConfig{Prefix: strategy, FeedLag: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if w.leases, err = lease.New(w.db, lease.Config{Table: strategy + "_leases", TTL: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.events = eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[Noted](w.events, 1); err != nil {
		t.Fatal(err)
	}
	// The shared tables, and each keyspace tenant's own.
	ctxs := []context.Context{ctx}
	for _, id := range w.ids {
		if ks := place[id]; ks != "" {
			if err := w.db.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
				t.Fatal(err)
			}
			ctxs = append(ctxs, tenant.With(ctx, id))
		}
	}
	for _, c := range ctxs {
		if err := w.db.Sync(c, w.items, w.tallies); err != nil {
			t.Fatal(err)
		}
		if err := w.store.Sync(c); err != nil {
			t.Fatal(err)
		}
		if err := w.leases.Sync(c); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// tally counts what one tenant's worker did and saw.
type tally struct {
	ops   map[string]int
	leaks []string
	wrong []string
}

func (c *tally) leak(format string, args ...any) {
	c.leaks = append(c.leaks, fmt.Sprintf(format, args...))
}

func (c *tally) bad(format string, args ...any) {
	c.wrong = append(c.wrong, fmt.Sprintf(format, args...))
}

func runIsolation(t *testing.T, strategy string, s uint64) {
	w := newWorld(t, strategy)
	ctx := t.Context()

	// One projector per tenant, each following its tenant's feed in its context.
	var seenMu sync.Mutex
	seen := map[string]map[orm.UUID]bool{}
	var projLeaks []string
	projector, err := eventsourcing.NewProjector(w.store, w.leases, w.events, eventsourcing.ProjectorConfig{Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopProjectors := context.WithCancel(ctx)
	var projWG sync.WaitGroup
	for _, id := range w.ids {
		seen[id] = map[orm.UUID]bool{}
		projWG.Add(1)
		go func() {
			defer projWG.Done()
			err := projector.Run(tenant.With(pctx, id), eventsourcing.Projection{Name: "watch", Handle: func(hctx context.Context, e eventsourcing.Envelope) error {
				got, err := tenant.From(hctx)
				n, _ := e.Event.(Noted)
				seenMu.Lock()
				defer seenMu.Unlock()
				if err != nil || got != id || n.Owner != id || e.Metadata.Tenant != id {
					projLeaks = append(projLeaks, fmt.Sprintf("projection of %s: handler ctx tenant %q (%v), event owner %q, metadata tenant %q",
						id, got, err, n.Owner, e.Metadata.Tenant))
				}
				seen[id][e.ID] = true
				return nil
			}})
			if err != nil && pctx.Err() == nil {
				seenMu.Lock()
				projLeaks = append(projLeaks, fmt.Sprintf("projector of %s stopped: %v", id, err))
				seenMu.Unlock()
			}
		}()
	}

	results := make([]*tally, len(w.ids))
	appended := make([]int, len(w.ids))
	var wg sync.WaitGroup
	for i, id := range w.ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &worker{w: w, id: id, others: slices.DeleteFunc(slices.Clone(w.ids), func(o string) bool { return o == id }),
				rng: rand.New(rand.NewPCG(s, uint64(i))), rows: map[[2]int32]Item{}, tallies: map[[2]int32]Tally{},
				versions: map[string]int64{}, c: &tally{ops: map[string]int{}}}
			r.run(tenant.With(ctx, id))
			results[i] = r.c
			appended[i] = r.appended
		}()
	}
	wg.Wait()

	total, byOp := 0, map[string]int{}
	for i, c := range results {
		for op, n := range c.ops {
			byOp[op] += n
			total += n
		}
		for _, l := range c.leaks {
			t.Errorf("LEAK (%s): %s", w.ids[i], l)
		}
		for _, b := range c.wrong {
			t.Errorf("wrong result (%s): %s", w.ids[i], b)
		}
	}
	// Every appended event reaches its tenant's projection, and only there.
	testenv.WaitFor(t, 2*time.Minute, func() error {
		seenMu.Lock()
		defer seenMu.Unlock()
		for i, id := range w.ids {
			if len(seen[id]) < appended[i] {
				return fmt.Errorf("the projection of %s has seen %d of its %d events (projector errors: %v)", id, len(seen[id]), appended[i], projLeaks)
			}
		}
		return nil
	})
	stopProjectors()
	projWG.Wait()
	seenMu.Lock()
	for i, id := range w.ids {
		if len(seen[id]) != appended[i] {
			t.Errorf("projection of %s saw %d events, %d appended", id, len(seen[id]), appended[i])
		}
	}
	for _, l := range projLeaks {
		t.Errorf("LEAK: %s", l)
	}
	seenMu.Unlock()
	leaks := len(projLeaks)
	for _, c := range results {
		leaks += len(c.leaks)
	}
	t.Logf("%s strategy: %d operations by %d tenants, %d leaks; by kind: %v", strategy, total, len(w.ids), leaks, byOp)
	if total < tenantsPerRun*opsPerTenant {
		t.Errorf("ran %d operations, want at least %d", total, tenantsPerRun*opsPerTenant)
	}
}

// worker runs one tenant's random operations, alone on its tenant, so it knows what
// each read must return.
type worker struct {
	w        *world
	id       string
	others   []string
	rng      *rand.Rand
	rows     map[[2]int32]Item  // the tenant's items as they must be
	tallies  map[[2]int32]Tally // and its tallies
	versions map[string]int64   // its streams' versions
	appended int
	c        *tally
}

func (r *worker) key() (int32, int32) { return int32(r.rng.IntN(bins)), int32(r.rng.IntN(slots)) }

func (r *worker) item(bin, slot int32) Item {
	return Item{Bin: bin, Slot: slot, Email: fmt.Sprintf("e%d@x.org", r.rng.IntN(12)), Color: colors[r.rng.IntN(len(colors))],
		Tags: []string{"t" + strconv.Itoa(r.rng.IntN(4))}, Size: int32(r.rng.IntN(100)), Owner: r.id, N: int32(r.rng.IntN(3))}
}

// emailHolder returns the key of the tenant's row that holds email, if any.
func (r *worker) emailHolder(email string) ([2]int32, bool) {
	for k, it := range r.rows {
		if it.Email == email {
			return k, true
		}
	}
	return [2]int32{}, false
}

// check counts a read's rows of other tenants and compares the rest with want.
func (r *worker) check(what string, got []Item, want func(Item) bool) {
	n := 0
	for _, it := range got {
		if it.Owner != r.id {
			r.c.leak("%s returned a row of %s: %+v", what, it.Owner, it)
			continue
		}
		if !want(it) {
			r.c.bad("%s returned %+v, which does not match", what, it)
		}
		n++
	}
	expected := 0
	for _, it := range r.rows {
		if want(it) {
			expected++
		}
	}
	if n != expected {
		r.c.bad("%s returned %d of the tenant's rows, want %d", what, n, expected)
	}
}

func (r *worker) all(ctx context.Context, what string, q orm.Query[Item]) []Item {
	var out []Item
	for it, err := range q.All(ctx) {
		if err != nil {
			r.c.bad("%s: %v", what, err)
			return out
		}
		out = append(out, it)
	}
	return out
}

func (r *worker) run(ctx context.Context) {
	for range opsPerTenant {
		op := r.rng.IntN(17)
		bin, slot := r.key()
		k := [2]int32{bin, slot}
		switch op {
		case 0, 1: // insert (overwrites; unique email per tenant)
			r.c.ops["insert"]++
			it := r.item(bin, slot)
			err := r.w.items.Insert(ctx, &it)
			holder, held := r.emailHolder(it.Email)
			switch {
			case held && holder != k:
				if !errors.Is(err, orm.ErrConflict) {
					r.c.bad("insert %v with %s held by %v in the tenant: %v, want a conflict", k, it.Email, holder, err)
				}
			case err != nil:
				r.c.bad("insert %v: %v", k, err)
			default:
				r.rows[k] = it
			}
		case 2: // insert if not exists
			r.c.ops["lwt insert"]++
			it := r.item(bin, slot)
			err := r.w.items.InsertIfNotExists(ctx, &it)
			_, exists := r.rows[k]
			holder, held := r.emailHolder(it.Email)
			var ce *orm.ConflictError
			switch {
			case errors.As(err, &ce):
				if cur, ok := ce.Current.(*Item); ok && cur.Owner != "" && cur.Owner != r.id {
					r.c.leak("insert if not exists %v: conflict with a row of %s", k, cur.Owner)
				}
				if !exists && !(held && holder != k) {
					r.c.bad("insert if not exists %v: conflict on a free key and email: %v", k, err)
				}
			case err != nil:
				r.c.bad("insert if not exists %v: %v", k, err)
			case exists:
				r.c.bad("insert if not exists %v applied over the tenant's row", k)
			default:
				r.rows[k] = it
			}
		case 3: // get
			r.c.ops["get"]++
			got, err := r.w.items.Get(ctx, bin, slot)
			want, exists := r.rows[k]
			switch {
			case err == nil && got.Owner != r.id:
				r.c.leak("get %v returned a row of %s", k, got.Owner)
			case errors.Is(err, orm.ErrNotFound):
				if exists {
					r.c.bad("get %v: not found", k)
				}
			case err != nil:
				r.c.bad("get %v: %v", k, err)
			case !exists || got.Email != want.Email || got.N != want.N:
				r.c.bad("get %v = %+v, want %+v (exists %v)", k, got, want, exists)
			}
		case 4: // patch if (LWT on a value)
			r.c.ops["lwt patch"]++
			cur, exists := r.rows[k]
			guess := int32(r.rng.IntN(3))
			err := r.w.items.PatchIf(ctx, []any{bin, slot}, []orm.Predicate{orm.Eq("n", guess)}, []orm.Change{orm.Set("n", guess+10)})
			var ce *orm.ConflictError
			switch {
			case errors.As(err, &ce):
				if c, ok := ce.Current.(*Item); ok && c.Owner != "" && c.Owner != r.id {
					r.c.leak("patch if %v: conflict shows a row of %s", k, c.Owner)
				}
				if exists && cur.N == guess {
					r.c.bad("patch if %v n=%d: refused although n is %d", k, guess, cur.N)
				}
			case err != nil:
				r.c.bad("patch if %v: %v", k, err)
			case !exists || cur.N != guess:
				r.c.bad("patch if %v n=%d applied; the tenant's row is %+v (exists %v)", k, guess, cur, exists)
			default:
				cur.N = guess + 10
				r.rows[k] = cur
			}
		case 5: // delete
			r.c.ops["delete"]++
			if err := r.w.items.Delete(ctx, bin, slot); err != nil {
				r.c.bad("delete %v: %v", k, err)
			} else {
				delete(r.rows, k)
			}
		case 6: // partition query
			r.c.ops["query partition"]++
			r.check(fmt.Sprintf("bin = %d", bin), r.all(ctx, "partition query", r.w.items.Query().Where(orm.Eq("bin", bin))),
				func(it Item) bool { return it.Bin == bin })
		case 7: // IN and a clustering range
			r.c.ops["query in+range"]++
			other := (bin + 1) % bins
			q := r.w.items.Query().Where(orm.In("bin", bin, other), orm.Gte("slot", slot))
			r.check("bin in, slot >=", r.all(ctx, "in query", q),
				func(it Item) bool { return (it.Bin == bin || it.Bin == other) && it.Slot >= slot })
		case 8: // index equality
			r.c.ops["query index"]++
			color := colors[r.rng.IntN(len(colors))]
			r.check("color = "+color, r.all(ctx, "index query", r.w.items.Query().Where(orm.Eq("color", color))),
				func(it Item) bool { return it.Color == color })
		case 9: // index CONTAINS and range
			r.c.ops["query contains+range"]++
			tag := "t" + strconv.Itoa(r.rng.IntN(4))
			r.check("tags contains "+tag, r.all(ctx, "contains query", r.w.items.Query().Where(orm.Contains("tags", tag))),
				func(it Item) bool { return slices.Contains(it.Tags, tag) })
			min := int32(r.rng.IntN(100))
			r.check("size > n", r.all(ctx, "range query", r.w.items.Query().Where(orm.Gt("size", min))),
				func(it Item) bool { return it.Size > min })
		case 10: // filtering on another tenant's owner value finds nothing
			r.c.ops["query filtering"]++
			other := r.others[r.rng.IntN(len(r.others))]
			for _, it := range r.all(ctx, "filtering query", r.w.items.Query().Where(orm.Eq("owner", other)).AllowFiltering()) {
				r.c.leak("owner = %s found %+v", other, it)
			}
			r.check("whole table", r.all(ctx, "scan", r.w.items.Query().AllowFiltering()), func(Item) bool { return true })
		case 11: // counts
			r.c.ops["count"]++
			n, err := r.w.items.Query().Where(orm.Eq("bin", bin)).Count(ctx)
			want := 0
			for kk := range r.rows {
				if kk[0] == bin {
					want++
				}
			}
			if err != nil || n != int64(want) {
				r.c.bad("count bin %d = %d, %v; want %d", bin, n, err, want)
			}
			n, err = r.w.items.Query().AllowFiltering().Count(ctx)
			if err != nil || n != int64(len(r.rows)) {
				r.c.bad("count of the table = %d, %v; want %d", n, err, len(r.rows))
			}
		case 12: // paging, and the cursor refused to another tenant
			r.c.ops["page"]++
			q := r.w.items.Query().Where(orm.In("bin", int32(0), int32(1), int32(2))).With(orm.WithPageSize(2))
			var got []Item
			cursor := ""
			for {
				p, err := q.Page(ctx, cursor)
				if err != nil {
					r.c.bad("page: %v", err)
					break
				}
				got = append(got, p.Items...)
				if p.Next == "" {
					break
				}
				cursor = p.Next
				other := tenant.With(ctx, r.others[r.rng.IntN(len(r.others))])
				if _, err := q.Page(other, cursor); !errors.Is(err, orm.ErrInvalidQuery) {
					r.c.leak("a cursor of %s was taken by another tenant: %v", r.id, err)
				}
			}
			r.check("paged", got, func(Item) bool { return true })
		case 13: // a logged batch of two tallies and a patch
			r.c.ops["batch"]++
			b := r.w.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			bw := r.w.tallies.Batch(b)
			t1 := Tally{Bin: bin, Slot: slot, Owner: r.id, N: int32(r.rng.IntN(50))}
			t2 := Tally{Bin: bin, Slot: (slot + 1) % slots, Owner: r.id, N: int32(r.rng.IntN(50))}
			err := errors.Join(bw.Insert(ctx, &t1), bw.Insert(ctx, &t2), bw.Patch(ctx, []any{bin, slot}, []orm.Change{orm.Set("n", t1.N+1)}))
			if err == nil {
				err = b.Exec(ctx)
			}
			if err != nil {
				r.c.bad("batch: %v", err)
				break
			}
			t1.N++
			r.tallies[[2]int32{t1.Bin, t1.Slot}], r.tallies[[2]int32{t2.Bin, t2.Slot}] = t1, t2
			for tl, err := range r.w.tallies.Query().Where(orm.Eq("bin", bin)).All(ctx) {
				switch {
				case err != nil:
					r.c.bad("tallies: %v", err)
				case tl.Owner != r.id:
					r.c.leak("tallies returned a row of %s", tl.Owner)
				case r.tallies[[2]int32{tl.Bin, tl.Slot}] != tl:
					r.c.bad("tally %+v, want %+v", tl, r.tallies[[2]int32{tl.Bin, tl.Slot}])
				}
			}
		case 14, 15: // event append
			r.c.ops["append"]++
			stream := "s" + strconv.Itoa(int(bin))
			data, _ := json.Marshal(Noted{Owner: r.id, N: r.appended})
			v, err := r.w.store.Append(ctx, stream, r.versions[stream], []eventsourcing.EventData{{Type: Noted{}.EventType(), SchemaVersion: 1, Data: data,
				Metadata: eventsourcing.Metadata{Tenant: r.id}}})
			if err != nil {
				r.c.bad("append to %s at %d: %v", stream, r.versions[stream], err)
				break
			}
			r.versions[stream] = v
			r.appended++
		case 16: // event load
			r.c.ops["load"]++
			stream := "s" + strconv.Itoa(int(bin))
			n := int64(0)
			for rec, err := range r.w.store.Load(ctx, stream, 1) {
				if err != nil {
					r.c.bad("load %s: %v", stream, err)
					break
				}
				var e Noted
				if err := json.Unmarshal(rec.Data, &e); err != nil || e.Owner != r.id || rec.Metadata.Tenant != r.id {
					r.c.leak("load %s: event of %q (metadata tenant %q)", stream, e.Owner, rec.Metadata.Tenant)
				}
				n++
			}
			if n != r.versions[stream] {
				r.c.bad("load %s: %d events, want %d", stream, n, r.versions[stream])
			}
		}
	}
}
