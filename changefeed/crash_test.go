package changefeed_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/internal/crashtest"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The worker processes of TestCrashBetweenCommitAndPublish read these.
const (
	crashKSEnv    = "CHANGEFEED_CRASH_KEYSPACE"
	crashTableEnv = "CHANGEFEED_CRASH_TABLES"
)

// crashRow is the crash test's model. Every insert writes a row of its own (ID
// is new each time), so the table holds one row per committed insert; Version is
// bumped by conditional writes only, one at a time, so each key's versions
// 1..Version were all committed, in that order.
type crashRow struct {
	Key     string `cql:"key" orm:"pk"`
	ID      string `cql:"id" orm:"ck"`
	Version *int64 `cql:"version" orm:"static"`
	Val     int64  `cql:"val"`
}

// crashConfig is the feed of the crash test, in the workers and the test alike.
func crashConfig(tables string) changefeed.FeedConfig {
	// A short lag (writes get half of it), where batches that land after
	// readers passed their records' places happen on a busy machine: the
	// look-back (default 30 s) must find them.
	return changefeed.FeedConfig{Log: changefeed.Config{Table: "crash_changes_" + tables, Shards: 2, Lag: time.Second}}
}

// The points at which a writer kills itself: a record staged, its batch not
// sent; a staged batch applied, its record not told; a record written ahead of a
// conditional write not made; a conditional write made, its record not told.
var crashPoints = []string{"staged/before", "staged/done", "ahead/written", "ahead/done"}

// killingLog is the feed, with the worker's kill points around each record.
type killingLog struct {
	*changefeed.Feed
	kill func(point string)
}

func (l killingLog) Stage(ctx context.Context, b *orm.Batch, c *orm.RowChange) (orm.ChangeRecord, error) {
	r, err := l.Feed.Stage(ctx, b, c)
	if err != nil {
		return nil, err
	}
	l.kill("staged/before")
	return killingRecord{r, "staged/done", l.kill}, nil
}

func (l killingLog) WriteAhead(ctx context.Context, c *orm.RowChange) (orm.ChangeRecord, error) {
	r, err := l.Feed.WriteAhead(ctx, c)
	if err != nil {
		return nil, err
	}
	l.kill("ahead/written")
	return killingRecord{r, "ahead/done", l.kill}, nil
}

type killingRecord struct {
	orm.ChangeRecord
	point string
	kill  func(point string)
}

func (r killingRecord) Done(ctx context.Context, err error) {
	if err == nil {
		r.kill(r.point)
	}
	r.ChangeRecord.Done(ctx, err)
}

const crashKeys = 12

// TestCrashHelper is not a test: TestCrashBetweenCommitAndPublish runs the test
// binary as worker processes (package crashtest), and this is one. It writes
// until the test stops it, or until it kills itself at its kill point: the n-th
// time it reaches a point, for a kill point "point#n".
func TestCrashHelper(t *testing.T) {
	kill, ctx, ok := crashtest.Worker()
	if !ok {
		return
	}
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: os.Getenv(crashKSEnv)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := os.Getenv(crashTableEnv)
	feed, err := changefeed.NewFeed(db, crashConfig(tables))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	log := killingLog{feed, func(point string) {
		mu.Lock()
		seen[point]++
		n := seen[point]
		mu.Unlock()
		kill.At(fmt.Sprintf("%s#%d", point, n))
	}}
	rows, err := orm.NewModel[crashRow](db, orm.TableName("crash_rows_"+tables), orm.RecordChanges(log))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 3 { // writers in flight at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(w)))
			for ctx.Err() == nil {
				crashWrite(ctx, rows, db, rng)
			}
		}()
	}
	wg.Wait()
}

// crashWrite makes one write of a kind drawn by rng. Errors are expected (a
// conflict, a write cut off by its record's deadline on a loaded machine): the
// test checks what was committed, not what the writers were told.
func crashWrite(ctx context.Context, rows *orm.Model[crashRow], db *orm.DB, rng *rand.Rand) {
	key := fmt.Sprintf("k%02d", rng.IntN(crashKeys))
	id := orm.NewTimeUUID().String()
	switch rng.IntN(5) {
	case 0, 1: // a plain insert: its record is staged in its batch
		_ = rows.Insert(ctx, &crashRow{Key: key, ID: id, Val: rng.Int64()})
	case 2: // a conditional insert: its record is written ahead
		_ = rows.InsertIfNotExists(ctx, &crashRow{Key: key, ID: id, Val: rng.Int64()})
	case 3: // a version bump: a conditional write of a static column
		cur, err := rows.Query().Where(orm.Eq("key", key)).Limit(1).One(ctx)
		var v int64
		switch {
		case err == nil && cur.Version != nil:
			v = *cur.Version
		case err != nil && !errors.Is(err, orm.ErrNotFound):
			return
		}
		var cond orm.Predicate
		if v == 0 {
			cond = orm.Eq("version", nil)
		} else {
			cond = orm.Eq("version", v)
		}
		_ = rows.PatchIf(ctx, []any{key}, []orm.Predicate{cond}, []orm.Change{orm.Set("version", v+1)})
	case 4: // a logged batch of two inserts on two keys
		b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
		other := fmt.Sprintf("k%02d", rng.IntN(crashKeys))
		if rows.Batch(b).Insert(ctx, &crashRow{Key: key, ID: id}) == nil &&
			rows.Batch(b).Insert(ctx, &crashRow{Key: other, ID: orm.NewTimeUUID().String()}) == nil {
			_ = b.Exec(ctx)
		}
	}
}

// crashSeen is what one durable subscription of the crash test delivered.
type crashSeen struct {
	mu        sync.Mutex
	rows      map[string]bool    // key/id of the inserts
	versions  map[string][]int64 // each key's versions, in delivery order
	uncertain int
	late      int
	changes   int
}

func (s *crashSeen) handle(_ context.Context, c changefeed.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	if c.Uncertain {
		s.uncertain++
	}
	if c.Late {
		s.late++ // an insert: versions are conditional writes, never late
	}
	key, _ := c.Key["key"].(string)
	switch c.Op {
	case orm.OpInsert:
		id, _ := c.Key["id"].(string)
		s.rows[key+"/"+id] = true
	case orm.OpUpdate:
		if v, ok := c.Values["version"].(*int64); ok && v != nil {
			s.versions[key] = append(s.versions[key], *v)
		}
	}
	return nil
}

// Writers are killed with SIGKILL 1,000 times, at random moments around their
// records (staged and not sent, sent and not told, written ahead and not made,
// made and not told) and now and then paused past their leases, while two
// durable subscriptions run in this process, one of them restarted every few
// seconds: each subscription gets every committed change at least once, no
// change that was not committed, and each key's versions in order.
func TestCrashBetweenCommitAndPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for minutes")
	}
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tables := suffix()
	feed, err := changefeed.NewFeed(db, crashConfig(tables))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := orm.NewModel[crashRow](db, orm.TableName("crash_rows_"+tables), orm.RecordChanges(feed))
	if err != nil {
		t.Fatal(err)
	}
	lm, err := lease.New(db, lease.Config{Table: "crash_leases_" + tables, TTL: 2 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, append(feed.Models(), rows)...); err != nil {
		t.Fatal(err)
	}
	if err := lm.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	subs := changefeed.Subscriber{Feed: feed, Leases: lm, Poll: 100 * time.Millisecond}
	seen := map[string]*crashSeen{}
	subsCtx, stopSubs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range []string{"steady", "restarted"} {
		s := &crashSeen{rows: map[string]bool{}, versions: map[string][]int64{}}
		seen[name] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for subsCtx.Err() == nil {
				sctx, cancel := context.WithCancel(subsCtx)
				if name == "restarted" {
					sctx, cancel = context.WithTimeout(subsCtx, 3*time.Second)
				}
				err := subs.Subscribe(sctx, changefeed.Subscription{Name: name, Table: rows.Table().Name, Handle: s.handle})
				cancel()
				if subsCtx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					t.Errorf("subscription %s: %v", name, err)
					return
				}
			}
		}()
	}
	t.Cleanup(func() { stopSubs(); wg.Wait() })

	kills := 1000
	if n, err := strconv.Atoi(os.Getenv("CHANGEFEED_CRASH_KILLS")); err == nil {
		kills = n // a shorter run, while working on it
	}
	rng := rand.New(rand.NewPCG(20261203, 5))
	points := make([]string, kills)
	for i := range points {
		points[i] = fmt.Sprintf("%s#%d", crashPoints[i%len(crashPoints)], 1+rng.IntN(6))
	}
	pool := crashtest.Start(t, crashtest.Config{Helper: "TestCrashHelper", Workers: 4,
		Env:   []string{crashKSEnv + "=" + env.Keyspace(), crashTableEnv + "=" + tables},
		Kills: points, PauseEvery: 5 * time.Second, PauseFor: 3 * time.Second})
	start := time.Now()
	pool.Until(t, 25*time.Minute, func() (bool, string, error) {
		n := pool.Reached()
		return n >= kills, fmt.Sprintf("%d of %d workers killed themselves", n, kills), nil
	})
	_, _, paused := pool.Stop()
	t.Logf("%d kills in %v; workers paused past their lease %d times", kills, time.Since(start).Round(time.Second), paused)

	// What was committed: every row, and each key's versions up to its last.
	committed := map[string]bool{}
	last := map[string]int64{}
	for r, err := range rows.Query().AllowFiltering().All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		committed[r.Key+"/"+r.ID] = true
		if r.Version != nil {
			last[r.Key] = *r.Version
		}
	}
	versions := 0
	for _, v := range last {
		versions += int(v)
	}
	t.Logf("committed: %d inserts, %d version bumps over %d keys", len(committed), versions, len(last))
	complete := func(s *crashSeen) string {
		s.mu.Lock()
		defer s.mu.Unlock()
		var missing []string
		for k := range committed {
			if !s.rows[k] {
				missing = append(missing, "insert "+k)
			}
		}
		for key, v := range last {
			for want := int64(1); want <= v; want++ {
				if !slices.Contains(s.versions[key], want) {
					missing = append(missing, fmt.Sprintf("version %d of %s", want, key))
				}
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("%d committed changes not delivered yet: %q", len(missing), missing[:min(len(missing), 10)])
		}
		return ""
	}
	for name, s := range seen {
		testenv.WaitFor(t, 2*time.Minute, func() error {
			if msg := complete(s); msg != "" {
				return fmt.Errorf("subscription %s: %s", name, msg)
			}
			return nil
		})
	}
	stopSubs()
	wg.Wait()
	// What was committed, read again now: a conditional write that its killed
	// writer left half done is completed by a reader's SERIAL probe, and so may
	// have landed after the first read.
	final := map[string]bool{}
	for r, err := range rows.Query().AllowFiltering().All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		final[r.Key+"/"+r.ID] = true
		if r.Version != nil {
			last[r.Key] = max(last[r.Key], *r.Version)
		}
	}
	for name, s := range seen {
		extra := 0
		for k := range s.rows {
			if !final[k] {
				extra++
				t.Errorf("subscription %s: an insert never committed was delivered: %s", name, k)
			}
		}
		for key, vs := range s.versions {
			var first []int64 // versions at their first delivery
			for _, v := range vs {
				if v > last[key] {
					t.Errorf("subscription %s: key %s: version %d delivered, but the last committed is %d", name, key, v, last[key])
				}
				if !slices.Contains(first, v) {
					first = append(first, v)
				}
			}
			if !slices.IsSorted(first) {
				t.Errorf("subscription %s: key %s: versions out of order: %v", name, key, vs)
			}
		}
		if s.uncertain > 0 {
			t.Errorf("subscription %s: %d changes delivered as uncertain", name, s.uncertain)
		}
		t.Logf("subscription %s: %d changes delivered for %d committed (redeliveries: %d, late: %d)", name, s.changes, len(committed)+versions, s.changes-len(committed)-versions, s.late)
	}
}
