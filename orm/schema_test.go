package orm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type ProfileV1 struct {
	ID   int64  `cql:"id" orm:"pk"`
	Name string `cql:"name"`
}

type ProfileV2 struct {
	ID   int64    `cql:"id" orm:"pk"`
	Name string   `cql:"name" orm:"index"`
	Bio  string   `cql:"bio"`
	Tags []string `cql:"tags" orm:"set"`
}

type ProfileBadType struct {
	ID   int64 `cql:"id" orm:"pk"`
	Name int32 `cql:"name"`
}

type ProfileBadKey struct {
	ID   int64  `cql:"id" orm:"pk"`
	Name string `cql:"name" orm:"ck"`
}

func TestSchemaDiffAndSync(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	v1 := newModel[ProfileV1](t, db, orm.TableName("profile"))
	if err := v1.Insert(ctx, &ProfileV1{ID: 1, Name: "ann"}); err != nil {
		t.Fatal(err)
	}
	// V2 adds a column, a set and an index: all safe.
	v2, err := orm.NewModel[ProfileV2](db, orm.TableName("profile"))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := db.Diff(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, c := range changes {
		if !c.Safe {
			t.Errorf("unsafe: %+v", c)
		}
		what = append(what, c.What)
	}
	if got := strings.Join(what, "; "); got != "add column bio text; add column tags set<text>; add SAI index on name" {
		t.Fatalf("changes: %s", got)
	}
	if err := db.Sync(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if changes, _ := db.Diff(ctx, v2); len(changes) != 0 {
		t.Fatalf("after sync still differs: %+v", changes)
	}
	got, err := v2.Get(ctx, int64(1))
	if err != nil || got.Name != "ann" || got.Bio != "" {
		t.Fatalf("old row after sync: %+v %v", got, err)
	}
	if _, err := v2.Query().Where(orm.Eq("name", "ann")).One(ctx); err != nil {
		t.Fatalf("new index not usable: %v", err)
	}

	// A type change and a key change are refused with what differs.
	bad, _ := orm.NewModel[ProfileBadType](db, orm.TableName("profile"))
	err = db.Sync(ctx, bad)
	if !errors.Is(err, orm.ErrUnsafeSchemaChange) || !strings.Contains(err.Error(), "column name is text in the database but int in the model") {
		t.Fatalf("type change: %v", err)
	}
	badKey, _ := orm.NewModel[ProfileBadKey](db, orm.TableName("profile"))
	err = db.Sync(ctx, badKey)
	if !errors.Is(err, orm.ErrUnsafeSchemaChange) || !strings.Contains(err.Error(), "column name is regular in the database but clustering") {
		t.Fatalf("key change: %v", err)
	}
}

type Session struct {
	Token string `cql:"token" orm:"pk"`
	User  string `cql:"user"`
}

func TestTableOptionsAndKeyspaces(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	sessions := newModel[Session](t, db, orm.WithTableOptions(orm.TableOptions{
		DefaultTTL: 90 * time.Second, Comment: "login sessions; it's short-lived", GCGrace: time.Hour,
		Compaction: "LeveledCompactionStrategy",
	}))
	var ttl, grace int
	var comment string
	var compaction map[string]string
	err := env.Session(t).Query(`SELECT default_time_to_live, gc_grace_seconds, comment, compaction FROM system_schema.tables
		WHERE keyspace_name = ? AND table_name = ?`, env.Keyspace(), "session").Scan(&ttl, &grace, &comment, &compaction)
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 90 || grace != 3600 || comment != "login sessions; it's short-lived" || !strings.HasSuffix(compaction["class"], "LeveledCompactionStrategy") {
		t.Fatalf("options: ttl %d grace %d comment %q compaction %v", ttl, grace, comment, compaction)
	}
	if err := sessions.Insert(ctx, &Session{Token: "t", User: "u"}); err != nil {
		t.Fatal(err)
	}
	meta, err := sessions.CellMeta(ctx, "user", "t")
	if err != nil || meta.TTL <= 0 || meta.TTL > 90*time.Second {
		t.Fatalf("default TTL not applied: %+v %v", meta, err)
	}

	// Keyspaces: SimpleStrategy and NetworkTopologyStrategy, names checked.
	for _, c := range []struct {
		name string
		rep  orm.Replication
		want string
	}{
		{"orm_test_simple", orm.SimpleStrategy(1), "SimpleStrategy"},
		{"orm_test_nts", orm.NetworkTopology(map[string]int{"datacenter1": 1}), "NetworkTopologyStrategy"},
	} {
		if err := db.CreateKeyspace(ctx, c.name, c.rep); err != nil {
			t.Fatal(err)
		}
		var rep map[string]string
		if err := env.Session(t).Query(`SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?`, c.name).Scan(&rep); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(rep["class"], c.want) {
			t.Errorf("%s: replication %v", c.name, rep)
		}
		if err := db.DropKeyspace(ctx, c.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"ks; DROP KEYSPACE x", `ks"`, "", "1ks", strings.Repeat("k", 49)} {
		if err := db.CreateKeyspace(ctx, bad, orm.SimpleStrategy(1)); !errors.Is(err, orm.ErrInvalidIdentifier) {
			t.Errorf("keyspace %q: %v", bad, err)
		}
	}
	if err := db.CreateKeyspace(ctx, "ok_name", orm.NetworkTopology(map[string]int{"dc'1": 1})); !errors.Is(err, orm.ErrInvalidIdentifier) {
		t.Errorf("data center with a quote: %v", err)
	}
}

func TestExecCQLWaitsForIndexes(t *testing.T) {
	var seen []string
	db, err := orm.New(env.Session(t), env.Keyspace(), orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
		seen = append(seen, e.Op)
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	steps := []string{
		`CREATE TABLE IF NOT EXISTS handmade (id int PRIMARY KEY, tag text)`,
	}
	for _, s := range steps {
		if err := db.ExecCQL(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		if err := db.ExecCQL(ctx, `INSERT INTO handmade (id, tag) VALUES (?, ?)`, i, fmt.Sprint("t", i%5)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ExecCQL(ctx, `CREATE INDEX IF NOT EXISTS handmade_tag ON handmade (tag) USING 'sai'`); err != nil {
		t.Fatal(err)
	}
	// Usable at once: ExecCQL waited for the build.
	var n int
	if err := env.Session(t).Query(`SELECT COUNT(*) FROM handmade WHERE tag = 't3'`).Scan(&n); err != nil || n != 40 {
		t.Fatalf("count by the new index: %d %v", n, err)
	}
	if err := db.ExecCQL(ctx, `SELEC nonsense`); err == nil || !strings.Contains(err.Error(), "SELEC nonsense") {
		t.Fatalf("bad statement: %v", err)
	}
	if len(seen) < 203 || seen[0] != "cql" {
		t.Fatalf("observer saw %d statements", len(seen))
	}
}

type PairKeyAB struct {
	A string `cql:"a" orm:"pk"`
	B string `cql:"b" orm:"pk"`
	C int32  `cql:"c" orm:"ck"`
	D int32  `cql:"d" orm:"ck"`
	V string `cql:"v"`
}

type PairKeyBA struct {
	B string `cql:"b" orm:"pk"`
	A string `cql:"a" orm:"pk"`
	C int32  `cql:"c" orm:"ck"`
	D int32  `cql:"d" orm:"ck"`
	V string `cql:"v"`
}

type PairKeyDC struct {
	A string `cql:"a" orm:"pk"`
	B string `cql:"b" orm:"pk"`
	D int32  `cql:"d" orm:"ck"`
	C int32  `cql:"c" orm:"ck"`
	V string `cql:"v"`
}

func TestSchemaDiffKeyOrderAndOptions(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	newModel[PairKeyAB](t, db, orm.TableName("pairkey"))
	for name, m := range map[string]orm.SchemaModel{
		"partition":  orm.MustModel[PairKeyBA](db, orm.TableName("pairkey")),
		"clustering": orm.MustModel[PairKeyDC](db, orm.TableName("pairkey")),
	} {
		err := db.Sync(ctx, m)
		if !errors.Is(err, orm.ErrUnsafeSchemaChange) || !strings.Contains(err.Error(), "at position 0 in the database but 1 in the model") {
			t.Errorf("%s key order swapped: %v", name, err)
		}
	}
	withTTL := orm.MustModel[PairKeyAB](db, orm.TableName("pairkey"),
		orm.WithTableOptions(orm.TableOptions{DefaultTTL: time.Hour, Comment: "pairs"}))
	changes, err := db.Diff(ctx, withTTL)
	if err != nil || len(changes) != 1 || !changes[0].Safe || !strings.Contains(changes[0].What, "default_time_to_live 0 -> 3600") {
		t.Fatalf("option change: %+v %v", changes, err)
	}
	if err := db.Sync(ctx, withTTL); err != nil {
		t.Fatal(err)
	}
	if changes, _ := db.Diff(ctx, withTTL); len(changes) != 0 {
		t.Fatalf("after sync: %+v", changes)
	}
	// Dropping the TTL from the model resets it.
	plain := orm.MustModel[PairKeyAB](db, orm.TableName("pairkey"))
	if changes, _ := db.Diff(ctx, plain); len(changes) != 1 || !strings.Contains(changes[0].What, "default_time_to_live 3600 -> 0") {
		t.Fatalf("TTL removed: %+v", changes)
	}
}

type AttrsByKey struct {
	ID    int32             `cql:"id" orm:"pk"`
	Attrs map[string]string `cql:"attrs" orm:"index=keys"`
}

type AttrsByValue struct {
	ID    int32             `cql:"id" orm:"pk"`
	Attrs map[string]string `cql:"attrs" orm:"index=values"`
}

func TestSchemaDiffIndexTarget(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	byKey := newModel[AttrsByKey](t, db, orm.TableName("attrs"))
	if changes, err := db.Diff(ctx, byKey); err != nil || len(changes) != 0 {
		t.Fatalf("after sync: %+v %v", changes, err)
	}
	byValue := orm.MustModel[AttrsByValue](db, orm.TableName("attrs"))
	err := db.Sync(ctx, byValue)
	if !errors.Is(err, orm.ErrUnsafeSchemaChange) || !strings.Contains(err.Error(), "targets keys(attrs) in the database but values(attrs)") {
		t.Fatalf("index target change: %v", err)
	}
}
