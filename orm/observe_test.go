package orm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestObserverAndSlog(t *testing.T) {
	var mu sync.Mutex
	var events []orm.QueryEvent
	rec := orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	})
	db, err := orm.New(env.Session(t), env.Keyspace(), rec)
	if err != nil {
		t.Fatal(err)
	}
	accounts := newModel[Account](t, db)
	ctx := t.Context()
	mu.Lock()
	events = nil
	mu.Unlock()
	if err := accounts.Insert(ctx, &Account{ID: "obs", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Get(ctx, "obs"); err != nil {
		t.Fatal(err)
	}
	_ = accounts.InsertIfNotExists(ctx, &Account{ID: "obs"})
	for range accounts.Query().Where(orm.Eq("id", "obs")).All(ctx) {
	}
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	if err := errors.Join(accounts.Batch(b).Insert(ctx, &Account{ID: "obs-b1"}), accounts.Batch(b).Insert(ctx, &Account{ID: "obs-b2"})); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	ops := make([]string, len(events))
	for i, e := range events {
		ops[i] = e.Op
		if e.Table != "account" || e.Statement == "" || e.Latency <= 0 {
			t.Errorf("event %+v", e)
		}
	}
	if got := strings.Join(ops, ","); got != "insert,get,lwt insert,select,batch" {
		t.Fatalf("observed %s", got)
	}
	if st := events[4].Statements; len(st) != 2 || !strings.HasPrefix(st[0], "INSERT INTO ") || st[0] != st[1] || !strings.Contains(st[0], "?") {
		t.Errorf("batch statements %q", st)
	}
	for _, e := range events[:4] {
		if e.Statements != nil {
			t.Errorf("%s event with batch statements %q", e.Op, e.Statements)
		}
	}
	if events[1].Rows != 1 || events[3].Rows != 1 {
		t.Errorf("rows: get %d select %d", events[1].Rows, events[3].Rows)
	}

	// SlogObserver logs successes at debug and failures at warn.
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	obs := orm.SlogObserver(logger)
	obs.ObserveQuery(ctx, orm.QueryEvent{Table: "t", Op: "get", Statement: "SELECT 1"})
	obs.ObserveQuery(ctx, orm.QueryEvent{Table: "t", Op: "insert", Statement: "INSERT", Err: errors.New("boom")})
	out := buf.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "err=boom") {
		t.Fatalf("slog output:\n%s", out)
	}
}

func TestWithTracing(t *testing.T) {
	db := openDB(t)
	accounts := newModel[Account](t, db)
	var ids []orm.UUID
	rec := orm.TracerFunc(func(id orm.UUID) { ids = append(ids, id) })
	if err := accounts.Insert(t.Context(), &Account{ID: "traced"}, orm.WithTracing(rec)); err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 || ids[0].IsZero() { // a trace session id per request the statement made
		t.Fatalf("trace ids %v", ids)
	}
	ctx, cancel := withTimeout(t, 30*time.Second)
	defer cancel()
	tr, err := db.ReadTrace(ctx, ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	if tr.Coordinator == "" || tr.Duration <= 0 || len(tr.Events) == 0 || tr.Events[0].Activity == "" {
		t.Fatalf("trace %+v", tr)
	}
}
