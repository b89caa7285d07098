package saga_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// cursorRow reads a shard's timer cursor as any CQL client can.
type cursorRow struct {
	Shard    int32 `cql:"shard" orm:"pk"`
	Position int64 `cql:"position_ms"`
}

// A Start whose saga write comes late, after a worker has read its timer and
// found no saga, is still run: the worker looks again for a while instead of
// dropping the timer (it used to, and such a saga stayed "started" for ever;
// the order crash test saw it under load).
func TestLateStartIsRun(t *testing.T) {
	ctx := t.Context()
	def := func() *saga.Definition[struct{}] {
		return &saga.Definition[struct{}]{Name: "late", Steps: []saga.Step[struct{}]{
			{Name: "only", Timeout: time.Second, Action: func(context.Context, *struct{}) error { return nil }},
		}}
	}
	// The worker runs in one orchestrator, the Start in another, as in two
	// processes (a Start hands its saga to a worker of its own process at once).
	worker, starter := newOrch(t, "latestart", nil), newOrch(t, "latestart", nil)
	if _, err := saga.Register(worker, def()); err != nil {
		t.Fatal(err)
	}
	f, err := saga.Register(starter, def())
	if err != nil {
		t.Fatal(err)
	}
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cursors := orm.MustModel[cursorRow](db, orm.TableName("latestart_cursors"))
	release := make(chan struct{})
	held := make(chan time.Time, 1)
	saga.DelayStore(starter, func(string) {
		held <- time.Now()
		<-release
	})
	run(t, worker)
	id := "late-" + orm.NewUUID().String()[:8]
	started := make(chan error, 1)
	go func() {
		_, err := f.Start(ctx, struct{}{}, saga.WithID(id))
		started <- err
	}()
	at := <-held
	// Every shard's cursor has passed the timer: a worker has read it and found
	// no saga.
	testenv.WaitFor(t, 30*time.Second, func() error {
		for c, err := range cursors.Query().AllowFiltering().All(ctx) {
			if err != nil {
				return err
			}
			if c.Position <= at.UnixMilli() {
				return fmt.Errorf("the cursor of shard %d is at %s, before the timer at %s", c.Shard, time.UnixMilli(c.Position).Format(time.StampMilli), at.Format(time.StampMilli))
			}
		}
		return nil
	})
	close(release)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := f.Wait(wctx, id)
	if err != nil || res.Status != saga.Completed {
		t.Fatalf("saga %s: %s, %v; want completed", id, res.Status, err)
	}
}
