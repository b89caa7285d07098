package orm_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  orm.Config
		want string // "" for valid
	}{
		{"valid", orm.Config{Hosts: []string{"127.0.0.1"}, Keyspace: "shop", Consistency: orm.LocalOne, Timeout: time.Second}, ""},
		{"defaults are valid", orm.Config{Hosts: []string{"127.0.0.1"}}, ""},
		{"no hosts", orm.Config{}, "Hosts is empty"},
		{"empty host", orm.Config{Hosts: []string{"a", " "}}, "Hosts[1] is empty"},
		{"bad keyspace", orm.Config{Hosts: []string{"a"}, Keyspace: "x; DROP"}, "Keyspace"},
		{"bad consistency", orm.Config{Hosts: []string{"a"}, Consistency: orm.Consistency(99)}, "Consistency"},
		{"negative timeout", orm.Config{Hosts: []string{"a"}, Timeout: -time.Second}, "Timeout"},
		{"negative schema timeout", orm.Config{Hosts: []string{"a"}, SchemaTimeout: -time.Second}, "SchemaTimeout"},
		{"schema timeout below timeout", orm.Config{Hosts: []string{"a"}, Timeout: time.Minute, SchemaTimeout: time.Second}, ""},
		{"password alone", orm.Config{Hosts: []string{"a"}, Password: "p"}, "Username"},
		{"bad data center", orm.Config{Hosts: []string{"a"}, LocalDC: "dc'1"}, "LocalDC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v; want an error about %s", err, tc.want)
			}
		})
	}
	// Open refuses an invalid Config before connecting.
	if _, err := orm.Open(t.Context(), orm.Config{Hosts: []string{"127.0.0.1"}, Timeout: -1}); err == nil {
		t.Fatal("Open with a negative timeout succeeded")
	}
}

// TestOpenKeyspace checks that Open makes Config.Keyspace the session's, so that an
// unqualified hand-written statement lands there, and that a keyspace still to be
// created works too.
func TestOpenKeyspace(t *testing.T) {
	ctx := t.Context()
	env.Session(t) // creates the keyspace
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: env.Keyspace()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ks := db.Session().Query("").Keyspace(); ks != env.Keyspace() {
		t.Fatalf("session keyspace %q, want %q", ks, env.Keyspace())
	}
	if err := db.ExecCQL(ctx, `CREATE TABLE IF NOT EXISTS open_probe (id int PRIMARY KEY, v text)`); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecCQL(ctx, `INSERT INTO open_probe (id, v) VALUES (?, ?)`, 1, "x"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := env.Session(t).Query(`SELECT v FROM "` + env.Keyspace() + `".open_probe WHERE id = 1`).Scan(&v); err != nil || v != "x" {
		t.Fatalf("the unqualified insert did not land in %s: %q, %v", env.Keyspace(), v, err)
	}

	// A keyspace that does not exist yet: Open works, and statements land in it once
	// it is created.
	fresh := env.Keyspace() + "_fresh"
	db2, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: fresh})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	t.Cleanup(func() { _ = db2.DropKeyspace(ctx, fresh) })
	if err := db2.CreateKeyspace(ctx, fresh, orm.SimpleStrategy(1)); err != nil {
		t.Fatal(err)
	}
	if err := db2.ExecCQL(ctx, `CREATE TABLE IF NOT EXISTS fresh_probe (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if ok, err := db2.TableExists(ctx, fresh, "fresh_probe"); err != nil || !ok {
		t.Fatalf("fresh_probe in %s: %v, %v", fresh, ok, err)
	}

	// Schema changes run on a session of their own: closing the DB closes it too,
	// and a schema change after Close is refused rather than run.
	db.Close()
	if err := db.ExecCQL(ctx, `CREATE TABLE IF NOT EXISTS open_probe2 (id int PRIMARY KEY)`); !errors.Is(err, orm.ErrClosed) {
		t.Fatalf("a schema change after Close: %v, want ErrClosed", err)
	}
}

func TestNewChecksKeyspace(t *testing.T) {
	if _, err := orm.New(env.Session(t), "some_other_keyspace", nil); !errors.Is(err, orm.ErrInvalidValue) ||
		!strings.Contains(err.Error(), env.Keyspace()) {
		t.Fatalf("New with a keyspace other than the session's: %v", err)
	}
	if _, err := orm.New(env.Session(t), "bad-name", nil); !errors.Is(err, orm.ErrInvalidIdentifier) {
		t.Fatalf("New with an invalid keyspace: %v", err)
	}
}

type Inspected struct {
	Shop  string    `cql:"shop" orm:"pk"`
	At    time.Time `cql:"at" orm:"ck=desc"`
	Seq   int32     `cql:"seq" orm:"ck"`
	Owner string    `cql:"owner" orm:"static"`
	Name  string    `cql:"name" orm:"index"`
	Body  string    `cql:"body"`
}

func TestInspection(t *testing.T) {
	db := openDB(t)
	newModel[Inspected](t, db, orm.TableName("inspected"))
	ctx := t.Context()
	ks := env.Keyspace()
	if ok, err := db.KeyspaceExists(ctx, ks); err != nil || !ok {
		t.Fatalf("KeyspaceExists(%s) = %v, %v", ks, ok, err)
	}
	if ok, err := db.KeyspaceExists(ctx, "no_such_keyspace_here"); err != nil || ok {
		t.Fatalf("KeyspaceExists(missing) = %v, %v", ok, err)
	}
	if _, err := db.KeyspaceExists(ctx, "bad name"); !errors.Is(err, orm.ErrInvalidIdentifier) {
		t.Fatalf("KeyspaceExists(bad name): %v", err)
	}
	tables, err := db.Tables(ctx, ks)
	if err != nil || !slices.Contains(tables, "inspected") || !slices.IsSorted(tables) {
		t.Fatalf("Tables = %v, %v", tables, err)
	}
	if ok, err := db.TableExists(ctx, ks, "inspected"); err != nil || !ok {
		t.Fatalf("TableExists = %v, %v", ok, err)
	}
	if ok, err := db.TableExists(ctx, ks, "not_there"); err != nil || ok {
		t.Fatalf("TableExists(missing) = %v, %v", ok, err)
	}
	if ok, err := db.IndexExists(ctx, ks, "inspected", "inspected_name_idx"); err != nil || !ok {
		t.Fatalf("IndexExists = %v, %v", ok, err)
	}
	cols, err := db.Columns(ctx, ks, "inspected")
	if err != nil {
		t.Fatal(err)
	}
	want := []orm.LiveColumn{
		{Name: "shop", Type: "text", Kind: orm.PartitionKey},
		{Name: "at", Type: "timestamp", Kind: orm.ClusteringKey, Descending: true},
		{Name: "seq", Type: "int", Kind: orm.ClusteringKey},
		{Name: "owner", Type: "text", Kind: orm.Static},
		{Name: "body", Type: "text", Kind: orm.Regular},
		{Name: "name", Type: "text", Kind: orm.Regular},
	}
	if !slices.Equal(cols, want) {
		t.Fatalf("Columns =\n%v\nwant\n%v", cols, want)
	}
}
