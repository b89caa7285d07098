package orm_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Staff is a tenant-scoped model with every access path: a composite key, an SAI
// index, a unique email and a free column.
type Staff struct {
	Team  string `cql:"team" orm:"pk"`
	ID    int64  `cql:"id" orm:"ck"`
	Email string `cql:"email" orm:"unique"`
	Role  string `cql:"role" orm:"index"`
	Note  string `cql:"note"`
}

// Country is reference data, shared by every tenant.
type Country struct {
	Code string `cql:"code" orm:"pk"`
	Name string `cql:"name"`
}

// placer puts the tenants it names in their own keyspace and the others in the
// shared tables. It is configuration, as the registry's placement is.
type placer map[string]string

func (p placer) Keyspace(_ context.Context, id string) (string, error) {
	if id == "gone" {
		return "", fmt.Errorf("placer: %w", tenant.ErrUnknown)
	}
	return p[id], nil
}

// tenantDB returns a tenanted view of the package's DB in which tenant "big" has a
// keyspace of its own, created and synced with models.
func tenantDB(t *testing.T) (*orm.DB, placer) {
	t.Helper()
	base := openDB(t)
	own := placer{"big": env.KeyspacePrefix() + "big"}
	db, err := base.WithTenancy(orm.Tenancy{Placer: own})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKeyspace(t.Context(), own["big"], orm.SimpleStrategy(1)); err != nil {
		t.Fatal(err)
	}
	return db, own
}

func TestTenancyIsolation(t *testing.T) {
	db, own := tenantDB(t)
	members, err := orm.NewModel[Staff](db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tenants := []string{"acme", "globex", "big"}
	for _, id := range tenants {
		if err := db.Sync(tenant.With(ctx, id), members); err != nil {
			t.Fatalf("sync for %s: %v", id, err)
		}
	}
	// The same key, email and role in every tenant.
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		for i := range int64(5) {
			m := Staff{Team: "red", ID: i, Email: fmt.Sprintf("m%d@x.org", i), Role: "dev", Note: id}
			if err := members.Insert(tctx, &m); err != nil {
				t.Fatalf("%s: insert %d: %v", id, i, err)
			}
		}
	}
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		check := func(what string, rows []Staff) {
			t.Helper()
			if len(rows) == 0 {
				t.Errorf("%s: %s: no rows", id, what)
			}
			for _, r := range rows {
				if r.Note != id {
					t.Errorf("%s: %s: got a row of %s: %+v", id, what, r.Note, r)
				}
			}
		}
		got, err := members.Get(tctx, "red", int64(1))
		if err != nil {
			t.Fatal(err)
		}
		check("get", []Staff{got})
		var all []Staff
		for r, err := range members.Query().Where(orm.Eq("team", "red")).All(tctx) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, r)
		}
		if len(all) != 5 {
			t.Errorf("%s: partition query: %d rows, want 5", id, len(all))
		}
		check("partition query", all)
		var byRole []Staff
		for r, err := range members.Query().Where(orm.Eq("role", "dev")).All(tctx) {
			if err != nil {
				t.Fatal(err)
			}
			byRole = append(byRole, r)
		}
		if len(byRole) != 5 {
			t.Errorf("%s: index query: %d rows, want 5", id, len(byRole))
		}
		check("index query", byRole)
		n, err := members.Query().Where(orm.Eq("role", "dev")).Count(tctx)
		if err != nil || n != 5 {
			t.Errorf("%s: count = %d, %v; want 5", id, n, err)
		}
		n, err = members.Query().AllowFiltering().Count(tctx)
		if err != nil || n != 5 {
			t.Errorf("%s: count of the whole table = %d, %v; want 5", id, n, err)
		}
		// A unique value is unique per tenant: taken in this tenant by m1.
		dup := Staff{Team: "blue", ID: 9, Email: "m1@x.org", Role: "dev", Note: id}
		if err := members.Insert(tctx, &dup); !errors.Is(err, orm.ErrConflict) {
			t.Errorf("%s: duplicate email in one tenant: %v, want ErrConflict", id, err)
		}
		// An LWT sees only the tenant's row.
		if err := members.InsertIfNotExists(tctx, &Staff{Team: "red", ID: 1, Email: "z@x.org", Note: id}); !errors.Is(err, orm.ErrConflict) {
			t.Errorf("%s: insert if not exists over an existing row: %v", id, err)
		}
	}

	// Cursors are bound to their tenant.
	acme, globex := tenant.With(ctx, "acme"), tenant.With(ctx, "globex")
	q := members.Query().Where(orm.Eq("team", "red")).With(orm.WithPageSize(2))
	page, err := q.Page(acme, "")
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v (next %q)", err, page.Next)
	}
	if _, err := q.Page(globex, page.Next); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Errorf("acme's cursor used by globex: %v, want ErrInvalidQuery", err)
	}
	if p2, err := q.Page(acme, page.Next); err != nil || len(p2.Items) == 0 || p2.Items[0].Note != "acme" {
		t.Errorf("acme's cursor used by acme: %+v, %v", p2, err)
	}

	// A delete, a batch and a patch stay in their tenant.
	if err := members.Delete(acme, "red", int64(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := members.Get(globex, "red", int64(0)); err != nil {
		t.Errorf("acme's delete removed globex's row: %v", err)
	}
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	notes, err := orm.NewModel[Country](db, orm.TableName("tenant_notes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(acme, notes); err != nil {
		t.Fatal(err)
	}
	if err := notes.Batch(b).Insert(acme, &Country{Code: "x", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := notes.Batch(b).Patch(globex, []any{"x"}, []orm.Change{orm.Set("name", "globex")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"acme": "acme", "globex": "globex"} {
		c, err := notes.Get(tenant.With(ctx, id), "x")
		if err != nil || c.Name != want {
			t.Errorf("%s: batched row = %+v, %v", id, c, err)
		}
	}

	// Another client sees the tenant column leading the key, and "big"'s rows in
	// its own keyspace only.
	s := db.Session()
	var count int
	if err := s.Query(`SELECT COUNT(*) FROM "`+env.Keyspace()+`"."staff" WHERE "tenant_id" = ? ALLOW FILTERING`, "big").Scan(&count); err != nil || count != 0 {
		t.Errorf("big's rows in the shared table: %d, %v", count, err)
	}
	if err := s.Query(`SELECT COUNT(*) FROM "`+own["big"]+`"."staff" WHERE "tenant_id" = ? ALLOW FILTERING`, "big").Scan(&count); err != nil || count != 5 {
		t.Errorf("big's rows in its keyspace: %d, %v; want 5", count, err)
	}
	if err := s.Query(`SELECT COUNT(*) FROM "`+env.Keyspace()+`"."staff" WHERE "tenant_id" = ? ALLOW FILTERING`, "globex").Scan(&count); err != nil || count != 5 {
		t.Errorf("globex's rows in the shared table: %d, %v; want 5", count, err)
	}

	// Purging a tenant removes its rows and unique claims, and nobody else's.
	n, err := members.PurgeTenant(globex)
	if err != nil || n != 1 {
		t.Errorf("purge globex: %d partitions, %v; want 1", n, err)
	}
	if c, err := members.Query().AllowFiltering().Count(globex); err != nil || c != 0 {
		t.Errorf("globex after purge: %d rows, %v", c, err)
	}
	if c, err := members.Query().AllowFiltering().Count(acme); err != nil || c != 4 {
		t.Errorf("acme after globex's purge: %d rows, %v; want 4", c, err)
	}
	if err := members.Insert(globex, &Staff{Team: "red", ID: 7, Email: "m1@x.org", Note: "globex"}); err != nil {
		t.Errorf("globex's email claim survived the purge: %v", err)
	}
}

// TestTenancyRefusesNoTenant runs every tenant-scoped entry point of a model without
// a tenant, and with an invalid one: each refuses, and nothing is written.
func TestTenancyRefusesNoTenant(t *testing.T) {
	db, _ := tenantDB(t)
	members, err := orm.NewModel[Staff](db, orm.TableName("staff_refused"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), members); err != nil {
		t.Fatal(err)
	}
	row := func() *Staff { return &Staff{Team: "t", ID: 1, Email: "e@x.org", Note: "n"} }
	key := []any{"t", int64(1)}
	calls := map[string]func(ctx context.Context) error{
		"Model.Insert":            func(ctx context.Context) error { return members.Insert(ctx, row()) },
		"Model.InsertIfNotExists": func(ctx context.Context) error { return members.InsertIfNotExists(ctx, row()) },
		"Model.Update":            func(ctx context.Context) error { return members.Update(ctx, row()) },
		"Model.UpdateIf":          func(ctx context.Context) error { return members.UpdateIf(ctx, row(), nil) },
		"Model.Patch":             func(ctx context.Context) error { return members.Patch(ctx, key, []orm.Change{orm.Set("note", "x")}) },
		"Model.PatchIf": func(ctx context.Context) error {
			return members.PatchIf(ctx, key, nil, []orm.Change{orm.Set("note", "x")})
		},
		"Model.Get":           func(ctx context.Context) error { _, err := members.Get(ctx, key...); return err },
		"Model.Delete":        func(ctx context.Context) error { return members.Delete(ctx, key...) },
		"Model.HardDelete":    func(ctx context.Context) error { return members.HardDelete(ctx, key...) },
		"Model.DeleteIf":      func(ctx context.Context) error { return members.DeleteIf(ctx, key) },
		"Model.DeleteColumns": func(ctx context.Context) error { return members.DeleteColumns(ctx, key, "note") },
		"Model.CellMeta":      func(ctx context.Context) error { _, err := members.CellMeta(ctx, "note", key...); return err },
		"Model.PurgeTenant":   func(ctx context.Context) error { _, err := members.PurgeTenant(ctx); return err },
		"Query.CQL": func(ctx context.Context) error {
			_, _, err := members.Query().Where(orm.Eq("team", "t")).CQL(ctx)
			return err
		},
		"Query.All": func(ctx context.Context) error {
			for _, err := range members.Query().Where(orm.Eq("team", "t")).All(ctx) {
				return err
			}
			return nil
		},
		"Query.AllScored": func(ctx context.Context) error {
			for _, err := range members.Query().Where(orm.Eq("team", "t")).AllScored(ctx) {
				return err
			}
			return nil
		},
		"Query.One": func(ctx context.Context) error {
			_, err := members.Query().Where(orm.Eq("team", "t")).One(ctx)
			return err
		},
		"Query.Page": func(ctx context.Context) error {
			_, err := members.Query().Where(orm.Eq("team", "t")).Page(ctx, "")
			return err
		},
		"Query.Count": func(ctx context.Context) error {
			_, err := members.Query().Where(orm.Eq("team", "t")).Count(ctx)
			return err
		},
		"Query.Delete":     func(ctx context.Context) error { return members.Query().Where(orm.Eq("team", "t")).Delete(ctx) },
		"Query.HardDelete": func(ctx context.Context) error { return members.Query().Where(orm.Eq("team", "t")).HardDelete(ctx) },
		"Model.Restore":    func(ctx context.Context) error { return members.Restore(ctx, key...) },
		"Batch.InsertIfNotExists": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).InsertIfNotExists(ctx, row())
		},
		"Model.BulkInsert": func(ctx context.Context) error {
			_, err := members.BulkInsert(ctx, slices.Values([]Staff{*row()}), orm.BulkOptions{})
			return err
		},
		"Batch.Insert": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).Insert(ctx, row())
		},
		"Batch.Update": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).Update(ctx, row())
		},
		"Batch.Patch": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).Patch(ctx, key, []orm.Change{orm.Set("note", "x")})
		},
		"Batch.PatchIf": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).PatchIf(ctx, key, nil, []orm.Change{orm.Set("note", "x")})
		},
		"Batch.Delete": func(ctx context.Context) error {
			return members.Batch(db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})).Delete(ctx, key...)
		},
	}
	for _, want := range slices.Concat(ctxMethods[*orm.Model[Staff]]("Model"), ctxMethods[orm.Query[Staff]]("Query"), ctxMethods[orm.BatchWriter[Staff]]("Batch")) {
		if calls[want] == nil {
			t.Errorf("entry point %s is not in the table: add it", want)
		}
	}
	for name, call := range calls {
		for _, tc := range []struct {
			ctx  context.Context
			want error
		}{
			{t.Context(), tenant.ErrNoTenant},
			{tenant.With(t.Context(), "Not A Slug"), tenant.ErrInvalidID},
			{tenant.With(t.Context(), "gone"), tenant.ErrUnknown},
		} {
			err := call(tc.ctx)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "staff") {
				t.Errorf("%s: %v, want %v naming the table", name, err, tc.want)
			}
		}
	}
	var n int
	if err := db.Session().Query(`SELECT COUNT(*) FROM "` + env.Keyspace() + `"."staff_refused"`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused calls wrote %d rows (%v)", n, err)
	}
}

// ctxMethods lists the exported methods of T that take a context.Context first, as
// prefix.Name.
func ctxMethods[T any](prefix string) []string {
	rt := reflect.TypeFor[T]()
	ctxType := reflect.TypeFor[context.Context]()
	var out []string
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType {
			out = append(out, prefix+"."+m.Name)
		}
	}
	return out
}

func TestTenancyModels(t *testing.T) {
	db, _ := tenantDB(t)
	ctx := t.Context()
	// A global model needs no tenant, and has no tenant column.
	countries, err := orm.NewModel[Country](db, orm.WithScope(orm.GlobalScope))
	if err != nil {
		t.Fatal(err)
	}
	if countries.Table().Tenant != nil || countries.Table().Scope() != orm.GlobalScope {
		t.Fatalf("global model: tenant column %v, scope %s", countries.Table().Tenant, countries.Table().Scope())
	}
	if err := db.Sync(ctx, countries); err != nil {
		t.Fatal(err)
	}
	if err := countries.Insert(ctx, &Country{Code: "nl", Name: "Netherlands"}); err != nil {
		t.Fatal(err)
	}
	if c, err := countries.Get(tenant.With(ctx, "acme"), "nl"); err != nil || c.Name != "Netherlands" {
		t.Errorf("global row read in a tenant's context: %+v, %v", c, err)
	}
	// A field that takes the tenant column's name is refused.
	type Clash struct {
		ID     string `cql:"id" orm:"pk"`
		Tenant string `cql:"tenant_id"`
	}
	if _, err := orm.NewModel[Clash](db); !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), "tenant_id") {
		t.Errorf("a field named like the tenant column: %v", err)
	}
	// The caller cannot name the tenant column.
	members, err := orm.NewModel[Staff](db, orm.TableName("staff_cols"))
	if err != nil {
		t.Fatal(err)
	}
	acme := tenant.With(ctx, "acme")
	if _, _, err := members.Query().Where(orm.Eq("tenant_id", "globex")).CQL(acme); !errors.Is(err, orm.ErrUnknownColumn) {
		t.Errorf("a predicate on the tenant column: %v", err)
	}
	if err := members.Patch(acme, []any{"t", int64(1)}, []orm.Change{orm.Set("tenant_id", "globex")}); !errors.Is(err, orm.ErrUnknownColumn) {
		t.Errorf("a change of the tenant column: %v", err)
	}
	stmt, vals, err := members.Query().Where(orm.Eq("role", "dev")).CQL(acme)
	if err != nil {
		t.Fatal(err)
	}
	if want := `WHERE "tenant_id" = ? AND "role" = ? ALLOW FILTERING`; !strings.Contains(stmt, want) || len(vals) != 2 {
		t.Errorf("index query = %s (%d values), want %s", stmt, len(vals), want)
	}
	// A DB without tenancy builds the model as before.
	plain, err := orm.NewModel[Staff](openDB(t), orm.TableName("staff_plain"))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Table().Tenant != nil || plain.Table().Scope() != orm.GlobalScope {
		t.Errorf("model on a DB without tenancy: tenant column %v", plain.Table().Tenant)
	}
	if _, err := db.WithTenancy(orm.Tenancy{Column: "bad name"}); !errors.Is(err, orm.ErrInvalidIdentifier) {
		t.Errorf("invalid tenant column name: %v", err)
	}
}

// TestTenancyConcurrent: goroutines of 8 tenants write and read the same keys at
// once; each sees only its own rows.
func TestTenancyConcurrent(t *testing.T) {
	db, _ := tenantDB(t)
	members, err := orm.NewModel[Staff](db, orm.TableName("staff_conc"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ids := []string{"t-a", "t-b", "t-c", "t-d", "t-e", "t-f", "t-g", "big"}
	for _, id := range []string{"t-a", "big"} {
		if err := db.Sync(tenant.With(ctx, id), members); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tctx := tenant.With(ctx, id)
			for i := range int64(20) {
				if err := members.Insert(tctx, &Staff{Team: "x", ID: i, Email: fmt.Sprint(i), Note: id}); err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
				r, err := members.Get(tctx, "x", i)
				if err != nil || r.Note != id {
					errs <- fmt.Errorf("%s read %+v, %v", id, r, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
