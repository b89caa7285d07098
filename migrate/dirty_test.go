package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestDirtyGoStep: a Go step that writes a row and then fails with an unknown outcome
// marks its migration dirty; every run refuses until Resolve says what is true, and
// then Up goes on (applied) or runs it again (pending).
func TestDirtyGoStep(t *testing.T) {
	for _, applied := range []bool{true, false} {
		t.Run(fmt.Sprintf("resolve applied=%v", applied), func(t *testing.T) {
			ctx := t.Context()
			p := "dirtygo" + map[bool]string{true: "a", false: "p"}[applied]
			dropTables(t, p+"_migrations", p+"_lock", p+"_dirty", p+"_t")
			var runs2, runs3 atomic.Int32
			m := newMigrator(t, p, migrate.Config{})
			if err := m.AddFS(fstest.MapFS{"0001_t.up.cql": {Data: []byte("CREATE TABLE " + p + "_t (id int PRIMARY KEY)")}}, "."); err != nil {
				t.Fatal(err)
			}
			if err := m.Add(
				migrate.Migration{Version: 2, Name: "write", Up: func(ctx context.Context, db *orm.DB) error {
					if err := db.ExecCQL(ctx, "INSERT INTO "+p+"_t (id) VALUES (?)", int(runs2.Add(1))); err != nil {
						return err
					}
					if runs2.Load() == 1 {
						return fmt.Errorf("the second write: %w", orm.ErrUncertain)
					}
					return nil
				}},
				migrate.Migration{Version: 3, Name: "after", Up: func(context.Context, *orm.DB) error { runs3.Add(1); return nil },
					Down: func(context.Context, *orm.DB) error { return nil }},
			); err != nil {
				t.Fatal(err)
			}
			rs, err := m.Up(ctx)
			var me *migrate.MigrationError
			if !errors.As(err, &me) || !me.Dirty || me.Version != 2 || !errors.Is(err, orm.ErrUncertain) || !slices.Equal(versions(rs), []int64{1}) {
				t.Fatalf("Up: %v, %v", versions(rs), err)
			}

			runs := map[string]func() ([]migrate.Result, error){
				"Up":   func() ([]migrate.Result, error) { return m.Up(ctx) },
				"UpTo": func() ([]migrate.Result, error) { return m.UpTo(ctx, 3) },
				"UpN":  func() ([]migrate.Result, error) { return m.UpN(ctx, 1) },
				"Down": func() ([]migrate.Result, error) { return m.Down(ctx, 1) },
			}
			for name, run := range runs {
				rs, err := run()
				if !errors.Is(err, migrate.ErrDirty) || len(rs) != 0 {
					t.Fatalf("%s while dirty: %v, %v", name, versions(rs), err)
				}
				for _, s := range []string{"0002_write", "go step", "the second write", "unknown outcome", "Resolve(ctx, 2, true)", "-pending"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q does not contain %q", name, err, s)
					}
				}
			}
			if runs2.Load() != 1 || runs3.Load() != 0 {
				t.Fatalf("ran 2 %d times and 3 %d times while dirty", runs2.Load(), runs3.Load())
			}
			if got := states(t, ctx, m); !slices.Equal(got, []string{"0001_t:applied", "0002_write:dirty", "0003_after:pending"}) {
				t.Fatalf("status %q", got)
			}
			st, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(st[1].Err, migrate.ErrDirty) || !strings.Contains(st[1].Err.Error(), "the second write") {
				t.Errorf("status error %v", st[1].Err)
			}

			if err := m.Resolve(ctx, 9, applied); !errors.Is(err, migrate.ErrUnknownMigration) {
				t.Errorf("Resolve of an unknown version: %v", err)
			}
			if err := m.Resolve(ctx, 2, applied); err != nil {
				t.Fatal(err)
			}
			rs, err = m.Up(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantRun, want2 := []int64{3}, int32(1)
			if !applied {
				wantRun, want2 = []int64{2, 3}, 2
			}
			if !slices.Equal(versions(rs), wantRun) || runs2.Load() != want2 || runs3.Load() != 1 {
				t.Errorf("Up after Resolve: applied %v; 2 ran %d times, 3 %d", versions(rs), runs2.Load(), runs3.Load())
			}
			if got := states(t, ctx, m); !slices.Equal(got, []string{"0001_t:applied", "0002_write:applied", "0003_after:applied"}) {
				t.Errorf("status %q", got)
			}
		})
	}
}

// TestDirtyCQL: a .cql migration whose second statement fails after the first ran is
// dirty; one whose first statement is refused stays pending and runs again.
func TestDirtyCQL(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name      string
		up        string
		wantState string
		wantStmt  int
	}{
		{"second statement: duplicate column", "CREATE TABLE dirtycql_t (id int PRIMARY KEY);\nALTER TABLE dirtycql_t ADD id text;", "dirty", 2},
		{"second statement: syntax error", "CREATE TABLE dirtycql_t (id int PRIMARY KEY);\n\nCREATE TABEL dirtycql_u (id int PRIMARY KEY);", "dirty", 2},
		{"first statement refused", "ALTER TABLE dirtycql_missing ADD x text;\nCREATE TABLE dirtycql_t (id int PRIMARY KEY);", "pending", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dropTables(t, "dirtycql_migrations", "dirtycql_lock", "dirtycql_dirty", "dirtycql_t", "dirtycql_u")
			m := newMigrator(t, "dirtycql", migrate.Config{})
			if err := m.AddFS(fstest.MapFS{"0001_two.up.cql": {Data: []byte(tt.up)}}, "."); err != nil {
				t.Fatal(err)
			}
			_, err := m.Up(ctx)
			var me *migrate.MigrationError
			if !errors.As(err, &me) || me.Statement != tt.wantStmt || me.Dirty != (tt.wantState == "dirty") {
				t.Fatalf("Up: %v (%+v)", err, me)
			}
			if got := states(t, ctx, m); !slices.Equal(got, []string{"0001_two:" + tt.wantState}) {
				t.Fatalf("status %q", got)
			}
			_, err = m.Up(ctx)
			if tt.wantState == "dirty" {
				if !errors.Is(err, migrate.ErrDirty) || !strings.Contains(err.Error(), fmt.Sprintf("0001_two.up.cql statement 2 (line %d)", me.Line)) {
					t.Fatalf("second Up: %v", err)
				}
				return
			}
			// Nothing ran: the next Up runs it again, and fails the same way.
			if errors.Is(err, migrate.ErrDirty) || !errors.As(err, &me) || me.Statement != 1 {
				t.Fatalf("second Up: %v", err)
			}
		})
	}
}
