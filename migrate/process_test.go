package migrate_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// The helper process of TestProcessesApplyOnce reads these.
const (
	helperEnv   = "MIGRATE_TEST_HELPER"   // set: run as a helper
	helperKSEnv = "MIGRATE_TEST_KEYSPACE" // the keyspace to migrate
)

// helperReady is the line a helper prints once connected; it then waits for a
// line on its stdin before it calls Up, so that all start together.
const helperReady = "HELPER READY"

// procFiles are the .cql migrations: each fails if it runs twice (CREATE TABLE and ALTER
// TABLE ADD without IF NOT EXISTS) and counts its runs.
var procFiles = fstest.MapFS{
	"0001_create.up.cql": {Data: []byte("CREATE TABLE proc_t (id int PRIMARY KEY);\nUPDATE proc_counts SET n = n + 1 WHERE version = 1;\n")},
	"0003_alter.up.cql":  {Data: []byte("ALTER TABLE proc_t ADD note text;\nUPDATE proc_counts SET n = n + 1 WHERE version = 3;\n")},
}

// procClaim is a row of proc_claims: which run applied a version.
type procClaim struct {
	Version int64  `cql:"version" orm:"pk"`
	Owner   string `cql:"owner"`
}

// procGo returns a Go migration that claims its version with an LWT (failing if
// another run claimed it) and counts its runs, then lingers so that the other
// processes pile up on the lock and the lease must be renewed.
func procGo(version int64, owner string) migrate.Migration {
	return migrate.Migration{Version: version, Name: "claim_" + strconv.FormatInt(version, 10),
		Up: func(ctx context.Context, db *orm.DB) error {
			claims, err := orm.NewModel[procClaim](db, orm.TableName("proc_claims"))
			if err != nil {
				return err
			}
			var ce *orm.ConflictError
			if err := claims.InsertIfNotExists(ctx, &procClaim{Version: version, Owner: owner}); errors.As(err, &ce) {
				return fmt.Errorf("version %d already run by %s", version, ce.Current.(*procClaim).Owner)
			} else if err != nil {
				return err
			}
			if err := db.ExecCQL(ctx, `UPDATE proc_counts SET n = n + 1 WHERE version = ?`, version); err != nil {
				return err
			}
			select {
			case <-time.After(800 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
}

// TestHelperProcess is not a test: TestProcessesApplyOnce runs the test binary with
// -test.run=TestHelperProcess and helperEnv set, and this runs Up as one process of
// several. Without helperEnv it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	ctx := t.Context()
	// Not env.Session: that would create (and on exit drop) the keyspace.
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: os.Getenv(helperKSEnv)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := migrate.New(db, migrate.Config{Table: "proc_migrations", LockTable: "proc_lock", DirtyTable: "proc_dirty", LockLease: time.Second,
		Progress: func(e migrate.Event) { fmt.Println(e) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddFS(procFiles, "."); err != nil {
		t.Fatal(err)
	}
	owner := fmt.Sprintf("pid %d", os.Getpid())
	if err := m.Add(procGo(2, owner), procGo(4, owner)); err != nil {
		t.Fatal(err)
	}
	fmt.Println(helperReady)
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("waiting for the start signal: %v", err)
	}
	rs, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("APPLIED %v\n", versions(rs))
}

// readyLog collects a helper's output and closes ready once it has printed
// helperReady.
type readyLog struct {
	mu    sync.Mutex
	buf   strings.Builder
	ready chan struct{}
	seen  bool
}

// Write appends p to the log.
func (l *readyLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && strings.Contains(l.buf.String(), helperReady+"\n") {
		l.seen = true
		close(l.ready)
	}
	return len(p), nil
}

// String returns the output so far.
func (l *readyLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitErr waits for the started cmd in the background and delivers the result
// of its Wait.
func waitErr(cmd *exec.Cmd) <-chan error {
	c := make(chan error, 1)
	go func() { c <- cmd.Wait() }()
	return c
}

// TestProcessesApplyOnce starts several OS processes that run Up on one keyspace at
// the same moment: each migration must run exactly once, in one of them.
func TestProcessesApplyOnce(t *testing.T) {
	dropTables(t, "proc_migrations", "proc_lock", "proc_dirty", "proc_t", "proc_counts", "proc_claims")
	execCQL(t, `CREATE TABLE IF NOT EXISTS proc_counts (version bigint PRIMARY KEY, n counter)`)
	execCQL(t, `CREATE TABLE IF NOT EXISTS proc_claims (version bigint PRIMARY KEY, owner text)`)
	const procs = 4
	type out struct {
		text string
		err  error
	}
	outs := make([]out, procs)
	done := make([]<-chan error, procs)
	logs := make([]*readyLog, procs)
	starts := make([]io.WriteCloser, procs)
	for i := range procs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=1", helperKSEnv+"="+env.Keyspace())
		logs[i] = &readyLog{ready: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		var err error
		if starts[i], err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done[i] = waitErr(cmd)
	}
	// Once every process has connected, start them all at once.
	for i, l := range logs {
		select {
		case <-l.ready:
		case err := <-done[i]:
			t.Fatalf("process %d ended before it was ready: %v\n%s", i, err, l.String())
		}
	}
	for _, w := range starts {
		if _, err := io.WriteString(w, "go\n"); err != nil {
			t.Fatal(err)
		}
		_ = w.Close()
	}
	for i := range procs {
		err := <-done[i]
		outs[i] = out{logs[i].String(), err}
	}
	var applied []int64
	waited := 0
	for i, o := range outs {
		if o.err != nil {
			t.Errorf("process %d: %v\n%s", i, o.err, o.text)
			continue
		}
		for line := range strings.Lines(o.text) {
			if rest, ok := strings.CutPrefix(line, "APPLIED ["); ok {
				for f := range strings.FieldsSeq(strings.TrimSuffix(strings.TrimSpace(rest), "]")) {
					v, _ := strconv.ParseInt(f, 10, 64)
					applied = append(applied, v)
				}
			}
			if strings.HasPrefix(line, "waiting for the migration lock") {
				waited++
			}
		}
		t.Logf("process %d:\n%s", i, o.text)
	}
	slices.Sort(applied)
	if !slices.Equal(applied, []int64{1, 2, 3, 4}) {
		t.Errorf("the processes applied %v, want each of 1..4 once", applied)
	}
	if waited == 0 {
		t.Error("no process waited for the lock: they did not overlap")
	}
	s := env.Session(t)
	for v := int64(1); v <= 4; v++ {
		var n int64
		if err := s.Query(`SELECT n FROM proc_counts WHERE version = ?`, v).Scan(&n); err != nil || n != 1 {
			t.Errorf("migration %d ran %d times (%v)", v, n, err)
		}
	}
	var recorded int
	if err := s.Query(`SELECT COUNT(*) FROM proc_migrations`).Scan(&recorded); err != nil || recorded != 4 {
		t.Errorf("%d migrations recorded (%v), want 4", recorded, err)
	}
}
