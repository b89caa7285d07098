package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

type cliTrip struct{}

// TestSagaCommand lists and shows sagas an application ran: one completed, one
// compensated after a failure, with the failing attempt's error in the history.
func TestSagaCommand(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := saga.New(db, saga.Config{Table: "cli_saga", Shards: 2, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := saga.Register(o, &saga.Definition[cliTrip]{Name: "cli_trip", Steps: []saga.Step[cliTrip]{
		{Name: "book", Timeout: 5 * time.Second, Action: func(context.Context, *cliTrip) error { return nil },
			Compensate: func(context.Context, *cliTrip) error { return nil }},
		{Name: "pay", Timeout: 5 * time.Second, Action: func(ctx context.Context, _ *cliTrip) error {
			if k, _ := saga.KeyFrom(ctx); k.Saga == "trip-bad" {
				return saga.Permanent(errors.New("card declined"))
			}
			return nil
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(wctx) }()
	defer func() { stop(); <-done }()
	if _, err := f.Execute(ctx, cliTrip{}, saga.WithID("trip-good")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Execute(ctx, cliTrip{}, saga.WithID("trip-bad")); !errors.Is(err, saga.ErrCompensated) {
		t.Fatalf("trip-bad: %v", err)
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := sagaCmd(ctx, append([]string{"-hosts", strings.Join(env.Hosts(), ","), "-keyspace", env.Keyspace(), "-table", "cli_saga"}, args...), &out, &errOut)
		t.Logf("saga %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	out, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	matchInOrder(t, "list", out, `ID\s+NAME\s+STATUS`)
	if !strings.Contains(out, "trip-good") || !strings.Contains(out, "trip-bad") {
		t.Fatalf("list misses a saga:\n%s", out)
	}
	out, err = run("list", "-status", "compensated")
	if err != nil || !strings.Contains(out, "trip-bad") || strings.Contains(out, "trip-good") {
		t.Fatalf("list -status compensated: %v\n%s", err, out)
	}
	out, err = run("show", "trip-bad")
	if err != nil {
		t.Fatal(err)
	}
	matchInOrder(t, "show", out, `saga trip-bad \(cli_trip\)`, `status:\s+compensated`, `reason:.*card declined`,
		`started`, `attempt\s+book\s+do\s+1`, `succeeded\s+book\s+do`, `failed\s+pay\s+do\s+1\s+\S+\s+permanent: card declined`,
		`compensating`, `succeeded\s+book\s+undo`, `compensated`)
	if _, err := run("show", "no-such-trip"); !errors.Is(err, saga.ErrNotFound) {
		t.Fatalf("show of a missing saga: %v", err)
	}
	for _, bad := range [][]string{{"list", "-status", "sleeping"}, {"show"}, {"frobnicate"}, {"-tenant", "Bad Tenant", "list"}} {
		if _, err := run(bad...); err == nil {
			t.Fatalf("saga %v succeeded", bad)
		}
	}
}
