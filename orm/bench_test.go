package orm_test

// Benchmarks of the ORM against hand-written driver code on the same statements, in
// the same run, against the local Cassandra. Run them with
//
//	go test -run '^$' -bench . -benchmem -count=8 ./orm/
//
// and compare the driver and orm sub-benchmarks with benchstat (docs/benchmarks.md). Round trips to the
// server dominate ns/op; B/op and allocs/op are exact and show what the ORM adds.

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// benchUser is a realistic single-row model: uuid key, text, int, timestamp,
// set<text> and double.
type benchUser struct {
	ID      orm.UUID  `cql:"id" orm:"pk"`
	Name    string    `cql:"name"`
	Age     int32     `cql:"age"`
	Created time.Time `cql:"created"`
	Tags    []string  `cql:"tags" orm:"set"`
	Score   float64   `cql:"score"`
}

// benchEvent has the same column types, with a clustering column, so that one
// partition holds many rows.
type benchEvent struct {
	Part    orm.UUID  `cql:"part" orm:"pk"`
	Seq     int32     `cql:"seq" orm:"ck"`
	Name    string    `cql:"name"`
	Created time.Time `cql:"created"`
	Tags    []string  `cql:"tags" orm:"set"`
	Score   float64   `cql:"score"`
}

// benchKeyspace holds the benchmark tables.
const benchKeyspace = "orm_bench"

// benchRows is how many rows the select benchmarks read from one partition.
const benchRows = 100

// benchFixture is shared by every benchmark and -count repetition: the tables are
// synced and filled once.
type benchFixture struct {
	session *gocql.Session
	users   *orm.Model[benchUser]
	events  *orm.Model[benchEvent]

	// The exact statements the ORM runs, recorded by an observer.
	insertCQL, getCQL, selectCQL string

	rows []benchUser  // rows the insert benchmarks write, in turn
	user benchUser    // the row the get benchmarks read
	part orm.UUID     // the partition the select benchmarks read
	want []benchEvent // the rows of that partition
}

var (
	benchMu  sync.Mutex
	benchFix *benchFixture
)

func benchSetup(b *testing.B) *benchFixture {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchFix != nil {
		return benchFix
	}
	// The fixture outlives the benchmark that makes it, so it does not use that
	// benchmark's context.
	ctx := context.Background()

	// The benchmarks keep their tables in their own keyspace, which they create and
	// never drop, on a DB made by Open: a concurrent go test ./orm/ drops orm_test when
	// it exits, and a benchmark-only run then neither loses its tables midway nor
	// drops orm_test under another run's tests.
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: benchKeyspace})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CreateKeyspace(ctx, benchKeyspace, orm.SimpleStrategy(1)); err != nil {
		b.Fatal(err)
	}
	s := db.Session()

	// A DB with an observer on the same session records the statements; the measured
	// models run on db, which has none (the default).
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	rec, err := orm.New(s, benchKeyspace, orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
		mu.Lock()
		defer mu.Unlock()
		seen[e.Table+"/"+e.Op] = e.Statement
	}))
	if err != nil {
		b.Fatal(err)
	}
	recUsers := newModel[benchUser](b, rec, orm.TableName("bench_user"))
	recEvents := newModel[benchEvent](b, rec, orm.TableName("bench_event"))

	f := &benchFixture{session: s}
	if f.users, err = orm.NewModel[benchUser](db, orm.TableName("bench_user")); err != nil {
		b.Fatal(err)
	}
	if f.events, err = orm.NewModel[benchEvent](db, orm.TableName("bench_event")); err != nil {
		b.Fatal(err)
	}

	// Timestamps in whole milliseconds and set elements in order read back equal.
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	f.rows = make([]benchUser, 1024)
	for i := range f.rows {
		f.rows[i] = benchUser{
			ID: orm.NewUUID(), Name: fmt.Sprintf("user %d", i), Age: int32(20 + i%60),
			Created: t0.Add(time.Duration(i) * time.Second), Tags: []string{"bench", "cassandra", "go"},
			Score: float64(i) / 3,
		}
	}
	f.user = f.rows[0]
	if err := recUsers.Insert(ctx, &f.user); err != nil {
		b.Fatal(err)
	}
	if _, err := recUsers.Get(ctx, f.user.ID); err != nil {
		b.Fatal(err)
	}

	f.part = orm.NewUUID()
	f.want = make([]benchEvent, benchRows)
	for i := range f.want {
		f.want[i] = benchEvent{
			Part: f.part, Seq: int32(i), Name: fmt.Sprintf("event %d", i),
			Created: t0.Add(time.Duration(i) * time.Millisecond), Tags: []string{"a", "b"},
			Score: float64(i) * 1.5,
		}
		if err := recEvents.Insert(ctx, &f.want[i]); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for _, err := range recEvents.Query().Where(orm.Eq("part", f.part)).All(ctx) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != benchRows {
		b.Fatalf("partition has %d rows, want %d", n, benchRows)
	}

	f.insertCQL = seen["bench_user/insert"]
	f.getCQL = seen["bench_user/get"]
	f.selectCQL = seen["bench_event/select"]
	if f.insertCQL == "" || f.getCQL == "" || f.selectCQL == "" {
		b.Fatalf("statements not recorded: %q", seen)
	}
	benchFix = f
	return f
}

// driverInsert is the hand-written insert: the ORM's statement, the row's fields as
// values.
func driverInsert(ctx context.Context, s *gocql.Session, stmt string, r *benchUser) error {
	return s.Query(stmt, r.ID, r.Name, r.Age, r.Created, r.Tags, r.Score).ExecContext(ctx)
}

func driverGet(ctx context.Context, s *gocql.Session, stmt string, id orm.UUID) (benchUser, error) {
	var r benchUser
	err := s.Query(stmt, id).ScanContext(ctx, &r.ID, &r.Name, &r.Age, &r.Created, &r.Tags, &r.Score)
	return r, err
}

// driverSelect is the hand-written partition read. The scan target is declared once:
// the driver overwrites every field of each row and makes a new slice for each set.
func driverSelect(ctx context.Context, s *gocql.Session, stmt string, part orm.UUID) ([]benchEvent, error) {
	rows := make([]benchEvent, 0, benchRows)
	it := s.Query(stmt, part).IterContext(ctx)
	var e benchEvent
	for it.Scan(&e.Part, &e.Seq, &e.Name, &e.Created, &e.Tags, &e.Score) {
		rows = append(rows, e)
	}
	return rows, it.Close()
}

func ormSelect(ctx context.Context, m *orm.Model[benchEvent], part orm.UUID) ([]benchEvent, error) {
	rows := make([]benchEvent, 0, benchRows)
	for e, err := range m.Query().Where(orm.Eq("part", part)).All(ctx) {
		if err != nil {
			return nil, err
		}
		rows = append(rows, e)
	}
	return rows, nil
}

func BenchmarkInsert(b *testing.B) {
	f := benchSetup(b)
	b.Run("driver", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := driverInsert(ctx, f.session, f.insertCQL, &f.rows[i%len(f.rows)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("orm", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := f.users.Insert(ctx, &f.rows[i%len(f.rows)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkGet(b *testing.B) {
	f := benchSetup(b)
	ctx := b.Context()
	// Both sides read the same row.
	dr, err := driverGet(ctx, f.session, f.getCQL, f.user.ID)
	if err != nil {
		b.Fatal(err)
	}
	or, err := f.users.Get(ctx, f.user.ID)
	if err != nil {
		b.Fatal(err)
	}
	if !reflect.DeepEqual(dr, or) || !reflect.DeepEqual(or, f.user) {
		b.Fatalf("driver read %+v, orm read %+v, wrote %+v", dr, or, f.user)
	}
	b.Run("driver", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := driverGet(ctx, f.session, f.getCQL, f.user.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orm", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.users.Get(ctx, f.user.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSelect100(b *testing.B) {
	f := benchSetup(b)
	ctx := b.Context()
	dr, err := driverSelect(ctx, f.session, f.selectCQL, f.part)
	if err != nil {
		b.Fatal(err)
	}
	or, err := ormSelect(ctx, f.events, f.part)
	if err != nil {
		b.Fatal(err)
	}
	if len(dr) != benchRows || !reflect.DeepEqual(dr, or) || !reflect.DeepEqual(or, f.want) {
		b.Fatalf("driver and orm read different rows (%d, %d)", len(dr), len(or))
	}
	b.Run("driver", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := driverSelect(ctx, f.session, f.selectCQL, f.part); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orm", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ormSelect(ctx, f.events, f.part); err != nil {
				b.Fatal(err)
			}
		}
	})
}
