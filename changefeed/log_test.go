package changefeed_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("changefeed_test")

func TestMain(m *testing.M) { env.Main(m) }

// note is the test's entry: a change of key, numbered.
type note struct {
	changefeed.Head
	Key string `cql:"key"`
	N   int    `cql:"n"`
}

// verdicts is what the test's Verify answers for an entry, by key and number:
// "ok", "wait" or "skip"; an entry it does not know is delivered.
type verdicts struct {
	mu sync.Mutex
	m  map[string]string
}

func (v *verdicts) set(key string, n int, verdict string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[fmt.Sprint(key, "#", n)] = verdict
}

func (v *verdicts) verify(_ context.Context, r *note) (bool, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch v.m[fmt.Sprint(r.Key, "#", r.N)] {
	case "wait":
		return false, true, nil
	case "skip":
		return false, false, nil
	}
	return true, false, nil
}

func newLog(t *testing.T, table string, shards int) (*changefeed.Log[note, *note], *verdicts) {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := &verdicts{m: map[string]string{}}
	table += "_" + strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "") // a table per run: -count=N reads its own
	l, err := changefeed.New[note](db, changefeed.Config{Table: table, Shards: shards, Lag: 200 * time.Millisecond, AbandonAfter: time.Second}, v.verify)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), l.Models()...); err != nil {
		t.Fatal(err)
	}
	return l, v
}

// readAll reads every shard from the start, after the lag has passed the last
// write, and returns the keys and numbers delivered per shard.
func readAll(t *testing.T, l *changefeed.Log[note, *note], shards int) [][]string {
	t.Helper()
	out := make([][]string, shards)
	for sh := range shards {
		var pos changefeed.Position
		for {
			rows, next, err := l.Read(t.Context(), sh, pos, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				out[sh] = append(out[sh], fmt.Sprint(r.Key, "#", r.N))
			}
			if next == pos {
				break
			}
			pos = next
		}
	}
	return out
}

// Entries of a key stay in one shard in the order written; Read delivers what
// Verify says to, skips what it says to skip, marks what it delivers committed,
// and stops at an entry to wait for, until Verify decides.
func TestLog(t *testing.T) {
	const shards = 4
	l, v := newLog(t, "notes", shards)
	ctx := t.Context()
	keys := []string{"a", "b", "c", "d", "e"}
	for n := range 3 {
		for _, k := range keys {
			rows := []note{{Key: k, N: 2 * n}, {Key: k, N: 2*n + 1}}
			if err := l.WriteAhead(ctx, k, rows); err != nil {
				t.Fatal(err)
			}
			if rows[0].Seq == (orm.UUID{}) || rows[0].Shard != l.ShardOf(k) || rows[0].Committed {
				t.Fatalf("WriteAhead left head %+v for key %s", rows[0].Head, k)
			}
		}
	}
	v.set("b", 3, "skip")
	v.set("c", 1, "wait")
	// Entries become readable once the lag has passed them: wait until every key
	// of a shard without c is read whole.
	testenv.WaitFor(t, 10*time.Second, func() error {
		got := readAll(t, l, shards)
		for _, k := range keys {
			if !sharesShard(l, k, "c") && !slices.Contains(got[l.ShardOf(k)], k+"#5") {
				return fmt.Errorf("key %s is not read whole yet: %v", k, got[l.ShardOf(k)])
			}
		}
		return nil
	})
	got := readAll(t, l, shards)
	for _, k := range keys {
		sh := l.ShardOf(k)
		var seen []string
		for _, e := range got[sh] {
			if strings.HasPrefix(e, k+"#") {
				seen = append(seen, e)
			}
		}
		want := []string{k + "#0", k + "#1", k + "#2", k + "#3", k + "#4", k + "#5"}
		switch k {
		case "b":
			want = slices.DeleteFunc(want, func(s string) bool { return s == "b#3" })
		case "c":
			want = want[:1] // the reader stops at c#1 and waits
		}
		if k == "c" {
			// Other keys of c's shard after c#1 are not read either.
			if len(seen) != 1 || seen[0] != "c#0" {
				t.Fatalf("key c: read %v, want [c#0], then a stop at c#1", seen)
			}
			continue
		}
		if !slices.Equal(seen, want) && !sharesShard(l, k, "c") {
			t.Fatalf("key %s (shard %d): read %v, want %v", k, sh, seen, want)
		}
	}
	v.set("c", 1, "ok")
	got = readAll(t, l, shards)
	var cs []string
	for _, e := range got[l.ShardOf("c")] {
		if strings.HasPrefix(e, "c#") {
			cs = append(cs, e)
		}
	}
	if !slices.Equal(cs, []string{"c#0", "c#1", "c#2", "c#3", "c#4", "c#5"}) {
		t.Fatalf("key c once decided: %v", cs)
	}
	// What was delivered is marked committed; what was skipped is not.
	for r, err := range l.Entries().Query().AllowFiltering().All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if want := !(r.Key == "b" && r.N == 3); r.Committed != want {
			t.Fatalf("entry %s#%d committed=%v, want %v", r.Key, r.N, r.Committed, want)
		}
	}
}

func sharesShard(l *changefeed.Log[note, *note], a, b string) bool {
	return l.ShardOf(a) == l.ShardOf(b)
}

// Abandoned entries are gone; a shard or limit out of range is refused.
func TestAbandonAndRefusals(t *testing.T) {
	l, _ := newLog(t, "abandoned", 2)
	ctx := t.Context()
	rows := []note{{Key: "x", N: 1}, {Key: "x", N: 2}}
	if err := l.WriteAhead(ctx, "x", rows); err != nil {
		t.Fatal(err)
	}
	l.Abandon(ctx, rows)
	for _, r := range rows {
		if _, err := l.Entries().Get(ctx, r.Bucket, r.Shard, r.Seq); err == nil {
			t.Fatalf("abandoned entry %d is still there", r.N)
		}
	}
	for _, tc := range []struct {
		shard, limit int
		want         string
	}{{2, 1, "shard 2"}, {-1, 1, "shard -1"}, {0, 0, "limit 0"}} {
		if _, _, err := l.Read(ctx, tc.shard, changefeed.Position{}, tc.limit); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(shard %d, limit %d): %v, want an error naming %s", tc.shard, tc.limit, err, tc.want)
		}
	}
}

// Validate names what it refuses.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  changefeed.Config
		want string
	}{
		{changefeed.Config{Table: "t"}, ""},
		{changefeed.Config{}, "Table"},
		{changefeed.Config{Table: "t", Bucket: 1500 * time.Millisecond}, "Bucket"},
		{changefeed.Config{Table: "t", Shards: changefeed.MaxShards + 1}, "Shards"},
		{changefeed.Config{Table: "t", Lag: time.Millisecond}, "Lag"},
		{changefeed.Config{Table: "t", Lag: time.Second, AbandonAfter: time.Second}, "AbandonAfter"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
