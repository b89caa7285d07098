package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// udsFiles are the .cql migrations of TestUpDownStatus.
var udsFiles = fstest.MapFS{
	"m/0001_create_users.up.cql": {Data: []byte(`-- users; the first table
CREATE TABLE uds_users (
	id int PRIMARY KEY, -- the key
	email text
);
INSERT INTO uds_users (id, email) VALUES (1, 'a;b@example.com');
`)},
	"m/0001_create_users.down.cql": {Data: []byte("DROP TABLE uds_users;\n")},
	"m/0003_email_index.up.cql":    {Data: []byte("CREATE CUSTOM INDEX uds_users_email_idx ON uds_users (email) USING 'StorageAttachedIndex'")},
	"m/0003_email_index.down.cql":  {Data: []byte("DROP INDEX uds_users_email_idx;")},
	"m/README.md":                  {Data: []byte("not a migration")},
}

func udsGo(withDown4 bool) []migrate.Migration {
	seed := migrate.Migration{Version: 2, Name: "seed_user",
		Up: func(ctx context.Context, db *orm.DB) error {
			return db.ExecCQL(ctx, `INSERT INTO uds_users (id, email) VALUES (2, 'b@example.com')`)
		},
		Down: func(ctx context.Context, db *orm.DB) error {
			return db.ExecCQL(ctx, `DELETE FROM uds_users WHERE id = 2`)
		},
	}
	notes := migrate.Migration{Version: 4, Name: "notes",
		Up: func(ctx context.Context, db *orm.DB) error {
			return db.ExecCQL(ctx, `CREATE TABLE uds_notes (id int PRIMARY KEY)`)
		},
	}
	if withDown4 {
		notes.Down = func(ctx context.Context, db *orm.DB) error {
			return db.ExecCQL(ctx, `DROP TABLE uds_notes`)
		}
	}
	return []migrate.Migration{seed, notes}
}

func TestUpDownStatus(t *testing.T) {
	ctx := t.Context()
	dropTables(t, "uds_migrations", "uds_lock", "uds_dirty", "uds_users", "uds_notes")
	var events []string
	m := newMigrator(t, "uds", migrate.Config{Progress: func(e migrate.Event) { events = append(events, e.String()) }})
	if err := m.AddFS(udsFiles, "m"); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(udsGo(false)...); err != nil {
		t.Fatal(err)
	}
	want := []string{"0001_create_users:pending", "0002_seed_user:pending", "0003_email_index:pending", "0004_notes:pending"}
	if got := states(t, ctx, m); !slices.Equal(got, want) {
		t.Fatalf("status %q, want %q", got, want)
	}

	steps := []struct {
		name string
		run  func() ([]migrate.Result, error)
		want []int64
	}{
		{"UpTo 2", func() ([]migrate.Result, error) { return m.UpTo(ctx, 2) }, []int64{1, 2}},
		{"UpN 1", func() ([]migrate.Result, error) { return m.UpN(ctx, 1) }, []int64{3}},
		{"Up", func() ([]migrate.Result, error) { return m.Up(ctx) }, []int64{4}},
		{"Up again", func() ([]migrate.Result, error) { return m.Up(ctx) }, []int64{}},
	}
	for _, s := range steps {
		rs, err := s.run()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := versions(rs); !slices.Equal(got, s.want) {
			t.Fatalf("%s applied %v, want %v", s.name, got, s.want)
		}
	}
	if !strings.HasPrefix(events[0], "applied 0001_create_users in ") || len(events) != 4 {
		t.Errorf("progress %q", events)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != migrate.StateApplied || s.Err != nil || time.Since(s.AppliedAt) > time.Minute || s.Duration <= 0 {
			t.Errorf("after Up: %+v", s)
		}
	}
	var emails []string
	it := env.Session(t).Query(`SELECT email FROM uds_users`).Iter()
	for e := ""; it.Scan(&e); {
		emails = append(emails, e)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(emails)
	if !slices.Equal(emails, []string{"a;b@example.com", "b@example.com"}) {
		t.Errorf("rows %q", emails)
	}
	if !indexExists(t, "uds_users", "uds_users_email_idx") || !tableExists(t, "uds_notes") {
		t.Error("the index or uds_notes is missing")
	}

	// 0004 has no down step: nothing is rolled back.
	rs, err := m.Down(ctx, 2)
	if !errors.Is(err, migrate.ErrIrreversible) || len(rs) != 0 || !strings.Contains(err.Error(), "0004_notes") {
		t.Fatalf("Down over an irreversible migration: %v, %v", rs, err)
	}

	// A release that adds the down step can roll back, in reverse order.
	m2 := newMigrator(t, "uds", migrate.Config{})
	if err := m2.AddFS(udsFiles, "m"); err != nil {
		t.Fatal(err)
	}
	if err := m2.Add(udsGo(true)...); err != nil {
		t.Fatal(err)
	}
	rs, err = m2.Down(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(rs); !slices.Equal(got, []int64{4, 3, 2}) {
		t.Fatalf("rolled back %v", got)
	}
	if tableExists(t, "uds_notes") || indexExists(t, "uds_users", "uds_users_email_idx") {
		t.Error("uds_notes or the index survived the rollback")
	}
	want = []string{"0001_create_users:applied", "0002_seed_user:pending", "0003_email_index:pending", "0004_notes:pending"}
	if got := states(t, ctx, m2); !slices.Equal(got, want) {
		t.Fatalf("status %q, want %q", got, want)
	}
	// More steps than applied migrations rolls back what there is.
	if rs, err = m2.Down(ctx, 10); err != nil || !slices.Equal(versions(rs), []int64{1}) {
		t.Fatalf("Down(10): %v, %v", versions(rs), err)
	}
	if tableExists(t, "uds_users") {
		t.Error("uds_users survived the rollback")
	}
	// And everything applies again.
	if rs, err = m2.Up(ctx); err != nil || len(rs) != 4 {
		t.Fatalf("Up after Down: %v, %v", versions(rs), err)
	}
}

func TestChecksumChanged(t *testing.T) {
	ctx := t.Context()
	dropTables(t, "sum_migrations", "sum_lock", "sum_dirty", "sum_a", "sum_b", "sum_bb", "sum_c")
	const up = "CREATE TABLE sum_a (id int PRIMARY KEY);\nCREATE TABLE sum_b (id int PRIMARY KEY);\n"
	files := func(up string) fstest.MapFS {
		return fstest.MapFS{
			"0001_tables.up.cql":   {Data: []byte(up)},
			"0001_tables.down.cql": {Data: []byte("DROP TABLE sum_a; DROP TABLE sum_b;")},
			"0002_more.up.cql":     {Data: []byte("CREATE TABLE sum_c (id int PRIMARY KEY)")},
			"0002_more.down.cql":   {Data: []byte("DROP TABLE sum_c")},
		}
	}
	migrator := func(up string) *migrate.Migrator {
		m := newMigrator(t, "sum", migrate.Config{})
		if err := m.AddFS(files(up), "."); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if _, err := migrator(up).UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		up    string
		state migrate.State
	}{
		{"unchanged", up, migrate.StateApplied},
		{"CRLF line ends", strings.ReplaceAll(up, "\n", "\r\n"), migrate.StateApplied},
		{"edited", strings.Replace(up, "sum_b", "sum_bb", 1), migrate.StateChanged},
		{"comment added", "-- tables\n" + up, migrate.StateChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := migrator(tt.up)
			st, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st[0].State != tt.state || st[1].State != migrate.StatePending {
				t.Fatalf("status %+v", st)
			}
			_, upErr := m.Up(ctx)
			if tt.state == migrate.StateChanged {
				if !errors.Is(st[0].Err, migrate.ErrChecksumMismatch) || !strings.Contains(st[0].Err.Error(), "0001_tables.up.cql") {
					t.Errorf("status error %v", st[0].Err)
				}
				if !errors.Is(upErr, migrate.ErrChecksumMismatch) || !strings.Contains(upErr.Error(), "0001_tables.up.cql") {
					t.Fatalf("Up with a changed file: %v", upErr)
				}
				if tableExists(t, "sum_c") {
					t.Fatal("Up ran 0002 although 0001 changed")
				}
				return
			}
			if st[0].Err != nil || upErr != nil {
				t.Fatalf("status error %v, Up error %v", st[0].Err, upErr)
			}
			if _, err := m.Down(ctx, 1); err != nil { // back to 0001 only
				t.Fatal(err)
			}
		})
	}

	// Rolling the changed migration back and applying it again records the new file.
	m := migrator("-- tables\n" + up)
	if _, err := m.Down(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got := states(t, ctx, m); !slices.Equal(got, []string{"0001_tables:applied", "0002_more:applied"}) {
		t.Fatalf("status %q", got)
	}
}

var errBoom = errors.New("boom")

func TestFailingMigration(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name      string
		prefix    string
		files     fstest.MapFS
		gos       []migrate.Migration
		wantMsg   []string
		wantStmt  int
		wantLine  int
		wantText  string
		wantIs    error
		wantTable string // created by the statement before the failing one
	}{
		{
			name:   "cql statement",
			prefix: "failcql",
			files: fstest.MapFS{
				"0001_ok.up.cql": {Data: []byte("CREATE TABLE failcql_ok (id int PRIMARY KEY);")},
				"0002_typo.up.cql": {Data: []byte("CREATE TABLE failcql_a (id int PRIMARY KEY);\n\n" +
					"-- the typo; below\nCREATE TABEL failcql_b (\n id int PRIMARY KEY);\nCREATE TABLE failcql_c (id int PRIMARY KEY);")},
			},
			wantMsg:   []string{"up 0002_typo", "0002_typo.up.cql statement 2 (line 4)", `"CREATE TABEL failcql_b ("`},
			wantStmt:  2,
			wantLine:  4,
			wantText:  "CREATE TABEL failcql_b (",
			wantTable: "failcql_a",
		},
		{
			name:   "go func",
			prefix: "failgo",
			files:  fstest.MapFS{"0001_ok.up.cql": {Data: []byte("CREATE TABLE failgo_ok (id int PRIMARY KEY);")}},
			gos: []migrate.Migration{{Version: 2, Name: "explodes",
				Up: func(ctx context.Context, db *orm.DB) error { return errBoom }}},
			wantMsg: []string{"up 0002_explodes: boom"},
			wantIs:  errBoom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.prefix
			dropTables(t, p+"_migrations", p+"_lock", p+"_dirty", p+"_ok", p+"_a", p+"_b", p+"_c")
			m := newMigrator(t, tt.prefix, migrate.Config{})
			if err := m.AddFS(tt.files, "."); err != nil {
				t.Fatal(err)
			}
			if err := m.Add(tt.gos...); err != nil {
				t.Fatal(err)
			}
			// A third migration that must not run after the failure.
			if err := m.Add(migrate.Migration{Version: 3, Name: "after", Up: func(context.Context, *orm.DB) error {
				t.Error("migration 3 ran after 2 failed")
				return nil
			}}); err != nil {
				t.Fatal(err)
			}
			rs, err := m.Up(ctx)
			var me *migrate.MigrationError
			if !errors.As(err, &me) {
				t.Fatalf("Up: %v, want a *MigrationError", err)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if me.Version != 2 || me.Direction != "up" || me.Statement != tt.wantStmt || me.Line != tt.wantLine || me.Text != tt.wantText {
				t.Errorf("error fields %+v", me)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if !slices.Equal(versions(rs), []int64{1}) {
				t.Errorf("applied %v, want [1]", versions(rs))
			}
			if tt.wantTable != "" && !tableExists(t, tt.wantTable) {
				t.Errorf("%s, made before the failing statement, is missing", tt.wantTable)
			}
			// Both may have changed something (statement 1 ran; a Go step may write).
			if !me.Dirty || !strings.Contains(err.Error(), "marked dirty") {
				t.Errorf("not marked dirty: %v", err)
			}
			got := states(t, ctx, m)
			if want := []string{"0001_ok:applied", "0002_" + me.Name + ":dirty", "0003_after:pending"}; !slices.Equal(got, want) {
				t.Errorf("status %q, want %q", got, want)
			}
		})
	}
}

func TestAddErrors(t *testing.T) {
	up := func(context.Context, *orm.DB) error { return nil }
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name  string
		files fstest.MapFS
		gos   []migrate.Migration
		is    error
		want  []string
	}{
		{"go and file share a version",
			fstest.MapFS{"0002_add_index.up.cql": file("SELECT 1")},
			[]migrate.Migration{{Version: 2, Name: "backfill", Up: up}},
			migrate.ErrDuplicateVersion, []string{"version 2", "0002_add_index.up.cql", "Go migration added at", "(backfill)"}},
		{"two go migrations share a version", nil,
			[]migrate.Migration{{Version: 7, Name: "a", Up: up}, {Version: 7, Name: "b", Up: up}},
			migrate.ErrDuplicateVersion, []string{"version 7", "(a)", "(b)"}},
		{"two files share a version",
			fstest.MapFS{"01_a.up.cql": file("SELECT 1"), "1_b.up.cql": file("SELECT 1")}, nil,
			migrate.ErrDuplicateVersion, []string{"version 1", "01_a.up.cql", "1_b.up.cql"}},
		{"up and down names differ",
			fstest.MapFS{"3_a.up.cql": file("SELECT 1"), "3_b.down.cql": file("SELECT 1")}, nil,
			migrate.ErrDuplicateVersion, []string{"3_a.up.cql", "3_b.down.cql"}},
		{"bad file name", fstest.MapFS{"create_users.up.cql": file("SELECT 1")}, nil,
			migrate.ErrInvalidMigration, []string{"create_users.up.cql", "0001_create_users.up.cql"}},
		{"version zero", fstest.MapFS{"0000_x.up.cql": file("SELECT 1")}, nil,
			migrate.ErrInvalidMigration, []string{"0000_x.up.cql", "positive"}},
		{"down without up", fstest.MapFS{"0004_x.down.cql": file("SELECT 1")}, nil,
			migrate.ErrInvalidMigration, []string{"0004_x.down.cql has no matching .up.cql"}},
		{"empty up file", fstest.MapFS{"0005_x.up.cql": file("-- nothing yet\n")}, nil,
			migrate.ErrInvalidMigration, []string{"0005_x.up.cql holds no statement"}},
		{"unterminated string", fstest.MapFS{"0006_x.up.cql": file("SELECT 1;\nINSERT INTO t (s) VALUES ('x);")}, nil,
			migrate.ErrInvalidMigration, []string{"0006_x.up.cql", "line 2: unterminated string"}},
		{"go version zero", nil, []migrate.Migration{{Name: "x", Up: up}},
			migrate.ErrInvalidMigration, []string{"version 0"}},
		{"go without up", nil, []migrate.Migration{{Version: 1, Name: "x"}},
			migrate.ErrInvalidMigration, []string{"0001_x: no Up func"}},
		{"go without name", nil, []migrate.Migration{{Version: 1, Up: up}},
			migrate.ErrInvalidMigration, []string{"version 1: want a one-line name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := buildMigrator(t)
			var err error
			if tt.files != nil {
				err = m.AddFS(tt.files, ".")
			}
			if err == nil {
				err = m.Add(tt.gos...)
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	db, err := orm.Detached("migrate_build")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []migrate.Config{
		{Table: "bad-name"},
		{Table: "same", LockTable: "same"},
		{LockLease: 500 * time.Millisecond},
		{LockLease: 1500 * time.Millisecond},
	} {
		if _, err := migrate.New(db, o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	noKS, err := orm.Detached("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.New(noKS, migrate.Config{}); err == nil {
		t.Error("New accepted a DB without keyspace")
	}
}

// TestLockWait runs two Migrators in one process: the second waits while the first
// holds the lock, gives up when its context ends, and afterwards finds nothing to do.
func TestLockWait(t *testing.T) {
	ctx := t.Context()
	dropTables(t, "wait_migrations", "wait_lock", "wait_dirty")
	started, finish := make(chan struct{}), make(chan struct{})
	var runs sync.Map
	slow := func(who string) migrate.Migration {
		return migrate.Migration{Version: 1, Name: "slow", Up: func(ctx context.Context, db *orm.DB) error {
			runs.Store(who, true)
			close(started)
			select {
			case <-finish:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	}
	a := newMigrator(t, "wait", migrate.Config{LockLease: 2 * time.Second})
	if err := a.Add(slow("a")); err != nil {
		t.Fatal(err)
	}
	var waits []migrate.Event
	var mu sync.Mutex
	b := newMigrator(t, "wait", migrate.Config{LockLease: 2 * time.Second, Progress: func(e migrate.Event) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, e)
	}})
	if err := b.Add(slow("b")); err != nil {
		t.Fatal(err)
	}

	aDone := make(chan error, 1)
	go func() {
		rs, err := a.Up(ctx)
		if err == nil && len(rs) != 1 {
			err = errors.New("a applied nothing")
		}
		aDone <- err
	}()
	<-started

	// While a holds the lock (for longer than its lease: renewals keep it), b times out.
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := b.Up(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "held by") {
		t.Fatalf("b.Up while a runs: %v", err)
	}
	mu.Lock()
	if len(waits) != 1 || waits[0].Kind != migrate.EventWaiting || !strings.Contains(waits[0].String(), "waiting for the migration lock held by") {
		t.Errorf("progress while waiting: %v", waits)
	}
	mu.Unlock()

	bDone := make(chan []migrate.Result, 1)
	go func() {
		rs, err := b.Up(ctx)
		if err != nil {
			t.Error(err)
		}
		bDone <- rs
	}()
	// Once b waits for the lock again, a may finish.
	testenv.WaitFor(t, time.Minute, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(waits) < 2 || waits[len(waits)-1].Kind != migrate.EventWaiting {
			return fmt.Errorf("b has not waited for the lock again: %v", waits)
		}
		return nil
	})
	close(finish)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if rs := <-bDone; len(rs) != 0 {
		t.Errorf("b applied %v after a", versions(rs))
	}
	if _, ok := runs.Load("b"); ok {
		t.Error("b ran the migration")
	}
}

// TestLockLost takes the lock from a running migration: its context is cancelled, Up
// reports ErrLockLost and the migration is not recorded as applied but marked dirty
// (it may have run in part).
func TestLockLost(t *testing.T) {
	ctx := t.Context()
	dropTables(t, "lost_migrations", "lost_lock", "lost_dirty")
	started := make(chan struct{})
	m := newMigrator(t, "lost", migrate.Config{LockLease: time.Second})
	if err := m.Add(migrate.Migration{Version: 1, Name: "long", Up: func(ctx context.Context, db *orm.DB) error {
		close(started)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Second):
			return errors.New("not cancelled")
		}
	}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Up(ctx)
		done <- err
	}()
	<-started
	execCQL(t, `UPDATE lost_lock USING TTL 60 SET owner = 'thief' WHERE name = 'migrate'`)
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Up still runs 10s after its lock was taken")
	}
	var me *migrate.MigrationError
	if !errors.Is(err, migrate.ErrLockLost) || !errors.As(err, &me) || me.Version != 1 || !strings.Contains(err.Error(), "thief") {
		t.Fatalf("Up after losing its lock: %v", err)
	}
	if got := states(t, ctx, m); !slices.Equal(got, []string{"0001_long:dirty"}) {
		t.Errorf("status %q", got)
	}
}
