package ormcache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// staleEnv passes the second process of TestStalenessTwoProcesses its
// keyspace, table suffix, Redis prefix and output file.
const staleEnv = "ORMCACHE_TEST_STALE"

// staleRetry sends a write of the staleness test again when its outcome is
// unknown or the node was not available.
var staleRetry = retry.Policy{If: retry.On(orm.ErrUncertain, orm.ErrTimeout, orm.ErrUnavailable), MaxAttempts: 5}

// noInvalidationEnv, set, runs TestStalenessTwoProcesses with the
// Invalidator watching a tenant nobody writes: the test must then fail.
const noInvalidationEnv = "ORMCACHE_TEST_NO_INVALIDATION"

// staleTenants are the tenants of the staleness test.
var staleTenants = []string{"acme", "globex"}

const (
	staleWorkers = 4    // per process, each the only writer of one key
	staleOps     = 1250 // per worker: 2 processes x 4 workers x 1250 = 10,000
)

// opRecord is one write or read of the staleness test.
type opRecord struct {
	Proc   int    `json:"proc"`
	Write  bool   `json:"write"`
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	Seq    int64  `json:"seq"`   // written, or read (-1: not found)
	Owner  string `json:"owner"` // the tenant of the row read
	Start  int64  `json:"start"` // a read's start, ns
	Ack    int64  `json:"ack"`   // a write's acknowledgement, ns
}

// handledRecord is a change the Invalidator of a process had applied.
type handledRecord struct {
	Proc   int    `json:"proc"`
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	Seq    int64  `json:"seq"`
	At     int64  `json:"at"` // when it had been applied, ns
}

// staleRun is what a process of the test recorded.
type staleRun struct {
	Ops     []opRecord      `json:"ops"`
	Handled []handledRecord `json:"handled"`
}

// TestStalenessTwoProcesses is reliability scenario 7: two OS processes
// (this test binary run again), each with its own memory tier over the shared
// Redis and an Invalidator on the real change feed, make 10,000 random
// operations on 8 rows (4 ids in 2 tenants), writes through the orm.Model,
// reads through the cached Model. Each row has one writer, so its writes are
// ordered by their Seq. Checked afterwards: no read returns another tenant's
// row, and no read returns a Seq older than a change of that row its process
// had handled before the read started (the guarantee); the largest time
// between a write's acknowledgement and a read that still got an older Seq
// (the observed staleness, bounded by the feed's delivery delay) is logged.
func TestStalenessTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("two processes and 10,000 operations")
	}
	s := suffix()
	newFixture(t, "", s)
	prefix := redisPrefix(t)
	out := filepath.Join(t.TempDir(), "second.json")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStalenessHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), staleEnv+"="+strings.Join([]string{env.Keyspace(), s, prefix, out}, "|"))
	done := make(chan error, 1)
	var log []byte
	go func() {
		var err error
		log, err = cmd.CombinedOutput()
		done <- err
	}()
	first := stale(t, 0, env.Keyspace(), s, prefix)
	if err := <-done; err != nil {
		t.Fatalf("second process: %v\n%s", err, log)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var second staleRun
	if err := json.Unmarshal(b, &second); err != nil {
		t.Fatal(err)
	}
	checkStaleness(t, append(first.Ops, second.Ops...), append(first.Handled, second.Handled...))
}

// TestStalenessHelper is the second process of TestStalenessTwoProcesses.
func TestStalenessHelper(t *testing.T) {
	v := os.Getenv(staleEnv)
	if v == "" {
		t.Skip("runs as TestStalenessTwoProcesses's second process")
	}
	p := strings.Split(v, "|")
	r := stale(t, 1, p[0], p[1], p[2])
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p[3], b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// stale runs process proc's half of the test and returns what it recorded.
func stale(t *testing.T, proc int, ks, s, prefix string) staleRun {
	f := newFixture(t, ks, s)
	rdb := env.Redis(t)
	var mu sync.Mutex
	var rec staleRun
	record := func(c changefeed.Change) {
		seq, _ := c.Values["seq"].(int64)
		id, _ := c.Key["id"].(string)
		mu.Lock()
		rec.Handled = append(rec.Handled, handledRecord{Proc: proc, Tenant: c.Tenant, ID: id, Seq: seq, At: time.Now().UnixNano()})
		mu.Unlock()
	}
	sub := changefeed.Subscriber{Feed: f.feed, Poll: 50 * time.Millisecond}
	cfg := ormcache.InvalidatorConfig{Subscriber: sub, Tenants: staleTenants, OnChange: record}
	off := os.Getenv(noInvalidationEnv) != ""
	if off {
		cfg.Tenants, cfg.OnChange = []string{"nobody"}, nil
		for _, id := range staleTenants {
			ctx, cancel := context.WithCancel(tenant.With(context.Background(), id))
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = sub.Subscribe(ctx, changefeed.Subscription{Table: f.items.Table().Name, Handle: func(_ context.Context, c changefeed.Change) error {
					record(c)
					return nil
				}})
			}()
			t.Cleanup(func() { cancel(); <-done })
		}
	}
	inv, err := ormcache.NewInvalidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	items, err := ormcache.Of(f.items, stack(t, prefix, nil), inv, ormcache.Options{Get: cache.Options{TTL: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	run0 := time.Now()
	run(t, inv)
	t.Logf("process %d: Invalidator ready after %v", proc, time.Since(run0))

	// Each worker owns one row: its first write before the processes meet.
	type owned struct{ tenant, id string }
	own := make([]owned, staleWorkers)
	for w := range own {
		own[w] = owned{staleTenants[w%2], fmt.Sprintf("k%d", proc*staleWorkers/2+w/2)}
		ctx := tenant.With(t.Context(), own[w].tenant)
		if err := f.items.Insert(ctx, &item{ID: own[w].id, Seq: 0, Owner: own[w].tenant}); err != nil {
			t.Fatal(err)
		}
		rec.Ops = append(rec.Ops, opRecord{Proc: proc, Write: true, Tenant: own[w].tenant, ID: own[w].id, Seq: 0, Ack: time.Now().UnixNano()})
	}
	if err := rdb.Incr(t.Context(), prefix+"ready").Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 2*time.Minute, "both processes ready", func() bool {
		n, err := rdb.Get(t.Context(), prefix+"ready").Int()
		return err == nil && n >= 2
	})
	ids := []string{"k0", "k1", "k2", "k3"}
	var wg sync.WaitGroup
	errs := make(chan error, staleWorkers)
	for w := range staleWorkers {
		wg.Go(func() {
			var ops []opRecord
			defer func() { mu.Lock(); rec.Ops = append(rec.Ops, ops...); mu.Unlock() }()
			seq := int64(0)
			for range staleOps {
				if rand.IntN(4) == 0 {
					seq++
					ctx := tenant.With(t.Context(), own[w].tenant)
					// A write whose outcome is unknown (a timeout on a busy
					// machine) is sent again until it is acknowledged: the
					// ack is taken only then, and the write is an idempotent
					// upsert of the same values.
					err := retry.Do(ctx, staleRetry, func(ctx context.Context, _ int) error {
						return f.items.Update(ctx, &item{ID: own[w].id, Seq: seq, Owner: own[w].tenant})
					})
					if err != nil {
						errs <- fmt.Errorf("write %s/%s seq %d: %w", own[w].tenant, own[w].id, seq, err)
						return
					}
					ops = append(ops, opRecord{Proc: proc, Write: true, Tenant: own[w].tenant, ID: own[w].id, Seq: seq, Ack: time.Now().UnixNano()})
					continue
				}
				tn, id := staleTenants[rand.IntN(2)], ids[rand.IntN(len(ids))]
				start := time.Now()
				v, err := items.Get(tenant.With(t.Context(), tn), id)
				r := opRecord{Proc: proc, Tenant: tn, ID: id, Seq: v.Seq, Owner: v.Owner, Start: start.UnixNano()}
				switch {
				case errors.Is(err, orm.ErrNotFound):
					r.Seq, r.Owner = -1, tn
				case err != nil:
					errs <- fmt.Errorf("read %s/%s: %w", tn, id, err)
					return
				}
				ops = append(ops, r)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Stay until both processes are done, so that each goes on handling the
	// other's changes (and serving its Redis entries) while it runs.
	if err := rdb.Incr(t.Context(), prefix+"done").Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 5*time.Minute, "both processes done", func() bool {
		n, err := rdb.Get(t.Context(), prefix+"done").Int()
		return err == nil && n >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	return staleRun{Ops: slices.Clone(rec.Ops), Handled: slices.Clone(rec.Handled)}
}

// checkStaleness checks the records of both processes (see
// TestStalenessTwoProcesses).
func checkStaleness(t *testing.T, ops []opRecord, handled []handledRecord) {
	type rowKey struct{ tenant, id string }
	acks := map[rowKey]map[int64]int64{} // seq -> ack
	var reads []opRecord
	for _, o := range ops {
		if o.Write {
			k := rowKey{o.Tenant, o.ID}
			if acks[k] == nil {
				acks[k] = map[int64]int64{}
			}
			acks[k][o.Seq] = o.Ack
		} else {
			reads = append(reads, o)
		}
	}
	type procRow struct {
		proc int
		rowKey
	}
	seen := map[procRow][]handledRecord{}
	for _, h := range handled {
		k := procRow{h.Proc, rowKey{h.Tenant, h.ID}}
		seen[k] = append(seen[k], h)
	}
	if len(ops) < 10_000 {
		t.Errorf("%d operations, want at least 10,000", len(ops))
	}
	var stale, wrongTenant, behind int
	var worst time.Duration
	for _, r := range reads {
		if r.Owner != r.Tenant {
			wrongTenant++
			if wrongTenant <= 5 {
				t.Errorf("a read in tenant %s of %s got tenant %s's row", r.Tenant, r.ID, r.Owner)
			}
		}
		k := rowKey{r.Tenant, r.ID}
		var h int64 = -1
		for _, c := range seen[procRow{r.Proc, k}] {
			if c.At < r.Start && c.Seq > h {
				h = c.Seq
			}
		}
		if r.Seq < h {
			stale++
			if stale <= 5 {
				t.Errorf("process %d read %s/%s seq %d, after it had handled the change of seq %d", r.Proc, r.Tenant, r.ID, r.Seq, h)
			}
		}
		// The observed staleness: how long before the read the first newer
		// write had been acknowledged.
		if ack, ok := acks[k][r.Seq+1]; ok && ack < r.Start {
			behind++
			worst = max(worst, time.Duration(r.Start-ack))
		}
	}
	if stale > 0 || wrongTenant > 0 {
		t.Errorf("%d of %d reads older than a change their process had handled, %d of another tenant", stale, len(reads), wrongTenant)
	}
	t.Logf("%d operations (%d reads, %d writes), %d changes handled in the two processes; %d reads got a value older than a write acknowledged before they started, the oldest %v after that write's acknowledgement (feed Lag %v)",
		len(ops), len(reads), len(ops)-len(reads), len(handled), behind, worst, feedLag)
}
