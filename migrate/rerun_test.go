package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestFailedStepNotRunAgain: a step that may have changed something and failed (a Go
// step that wrote and then lost its answer; a .cql file whose second statement failed
// after its first ran) is not run again by the next Up, in this process or another.
func TestFailedStepNotRunAgain(t *testing.T) {
	ctx := t.Context()
	dropTables(t, "rerun_migrations", "rerun_lock", "rerun_dirty", "rerun_t")
	var runs atomic.Int32
	write := migrate.Migration{Version: 1, Name: "write_then_timeout", Up: func(ctx context.Context, db *orm.DB) error {
		runs.Add(1)
		if err := db.ExecCQL(ctx, `CREATE TABLE IF NOT EXISTS rerun_t (id int PRIMARY KEY, n int)`); err != nil {
			return err
		}
		if err := db.ExecCQL(ctx, `UPDATE rerun_t SET n = 1 WHERE id = 1`); err != nil {
			return err
		}
		return fmt.Errorf("writing the second row: %w", orm.ErrUncertain)
	}}
	for i := range 2 {
		m := newMigrator(t, "rerun", migrate.Config{})
		if err := m.Add(write); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Up(ctx); err == nil {
			t.Fatalf("Up %d succeeded", i+1)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the failed Go step ran %d times, want 1", n)
	}

	// The second statement fails after the first ran: a new Migrator (another
	// process) must not run the first one again.
	dropTables(t, "rerun2_migrations", "rerun2_lock", "rerun2_dirty", "rerun2_t")
	files := fstest.MapFS{"0001_two.up.cql": {Data: []byte("CREATE TABLE rerun2_t (id int PRIMARY KEY);\nALTER TABLE rerun2_t ADD id text;")}}
	for i := range 2 {
		m := newMigrator(t, "rerun2", migrate.Config{})
		if err := m.AddFS(files, "."); err != nil {
			t.Fatal(err)
		}
		_, err := m.Up(ctx)
		var me *migrate.MigrationError
		switch {
		case i == 0 && (!errors.As(err, &me) || me.Statement != 2):
			t.Fatalf("the first Up: %v, want the failure of statement 2", err)
		case i == 1 && errors.As(err, &me) && me.Statement == 1:
			t.Errorf("the second Up ran statement 1 again: %v", err)
		case i == 1 && !errors.Is(err, migrate.ErrDirty):
			t.Errorf("the second Up: %v, want ErrDirty", err)
		}
	}
}
