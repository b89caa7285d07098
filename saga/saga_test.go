package saga_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

type trip struct {
	Log []string `json:"log"`
}

// journal records the calls of steps, in order, across attempts.
type journal struct {
	mu    sync.Mutex
	calls []string
	keys  map[string][]string
}

func (j *journal) add(ctx context.Context, what string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, what)
	if k, ok := saga.KeyFrom(ctx); ok {
		if j.keys == nil {
			j.keys = map[string][]string{}
		}
		j.keys[what] = append(j.keys[what], k.String())
	}
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.calls)
}

var quick = retry.Policy{MaxAttempts: 3, Backoff: retry.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond}}

// step makes a step whose action and compensation record themselves, the action
// failing with fail(attempt) when that is not nil.
func step(j *journal, name string, fail func(attempt int) error) saga.Step[trip] {
	return saga.Step[trip]{
		Name:    name,
		Timeout: 10 * time.Second,
		Retry:   quick,
		Action: func(ctx context.Context, s *trip) error {
			k, _ := saga.KeyFrom(ctx)
			j.add(ctx, name)
			if fail != nil {
				if err := fail(k.Attempt); err != nil {
					return err
				}
			}
			s.Log = append(s.Log, name)
			return nil
		},
		Compensate: func(ctx context.Context, s *trip) error {
			j.add(ctx, "undo "+name)
			s.Log = append(s.Log, "undo "+name)
			return nil
		},
		CompensateRetry: quick,
	}
}

func TestOutcomes(t *testing.T) {
	o := newOrch(t, "outcomes", nil)
	run(t, o)
	boom := errors.New("boom")
	tests := []struct {
		name      string
		steps     func(j *journal) []saga.Step[trip]
		status    saga.Status
		calls     []string
		stateLog  []string
		wantErr   error
		reasonHas string
	}{
		{
			name: "all steps succeed",
			steps: func(j *journal) []saga.Step[trip] {
				return []saga.Step[trip]{step(j, "a", nil), step(j, "b", nil), step(j, "c", nil)}
			},
			status: saga.Completed, calls: []string{"a", "b", "c"}, stateLog: []string{"a", "b", "c"},
		},
		{
			name: "a permanent failure compensates the steps before it in reverse",
			steps: func(j *journal) []saga.Step[trip] {
				return []saga.Step[trip]{step(j, "a", nil), step(j, "b", nil),
					step(j, "c", func(int) error { return saga.Permanent(boom) })}
			},
			status: saga.Compensated, calls: []string{"a", "b", "c", "undo b", "undo a"},
			stateLog: []string{"a", "b", "undo b", "undo a"}, wantErr: saga.ErrCompensated, reasonHas: "boom",
		},
		{
			name: "a failure retried until it succeeds",
			steps: func(j *journal) []saga.Step[trip] {
				return []saga.Step[trip]{step(j, "a", func(n int) error {
					if n < 3 {
						return boom
					}
					return nil
				}), step(j, "b", nil)}
			},
			status: saga.Completed, calls: []string{"a", "a", "a", "b"}, stateLog: []string{"a", "b"},
		},
		{
			name: "retries spent: the failing step may have run and is compensated too",
			steps: func(j *journal) []saga.Step[trip] {
				return []saga.Step[trip]{step(j, "a", nil), step(j, "b", func(int) error { return boom })}
			},
			status: saga.Compensated, calls: []string{"a", "b", "b", "b", "undo b", "undo a"},
			stateLog: []string{"a", "undo b", "undo a"}, wantErr: saga.ErrCompensated, reasonHas: "step b",
		},
		{
			name: "a panic is a failure",
			steps: func(j *journal) []saga.Step[trip] {
				return []saga.Step[trip]{step(j, "a", nil), step(j, "b", func(int) error { panic("kaboom") })}
			},
			status: saga.Compensated, calls: []string{"a", "b", "b", "b", "undo b", "undo a"},
			stateLog: []string{"a", "undo b", "undo a"}, wantErr: saga.ErrCompensated, reasonHas: "kaboom",
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := &journal{}
			f, err := saga.Register(o, &saga.Definition[trip]{Name: fmt.Sprintf("outcome_%d", i), Steps: tc.steps(j)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			res, err := f.Execute(ctx, trip{})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Execute: %v, want %v", err, tc.wantErr)
			}
			if res.Status != tc.status {
				t.Fatalf("status %s, want %s (reason %q)", res.Status, tc.status, res.Reason)
			}
			if got := j.list(); !slices.Equal(got, tc.calls) {
				t.Fatalf("calls %v, want %v", got, tc.calls)
			}
			if !slices.Equal(res.State.Log, tc.stateLog) {
				t.Fatalf("state %v, want %v", res.State.Log, tc.stateLog)
			}
			if !strings.Contains(res.Reason, tc.reasonHas) {
				t.Fatalf("reason %q, want it to mention %q", res.Reason, tc.reasonHas)
			}
			// Every attempt of a step in one direction had the same key.
			for what, keys := range j.keys {
				if slices.Compact(slices.Clone(keys))[0] != keys[len(keys)-1] || len(slices.Compact(slices.Clone(keys))) != 1 {
					t.Fatalf("%s ran with keys %v, want one key", what, keys)
				}
				dir := "/do"
				if strings.HasPrefix(what, "undo ") {
					dir = "/undo"
				}
				if want := res.ID + "/" + strings.TrimPrefix(what, "undo ") + dir; keys[0] != want {
					t.Fatalf("%s ran with key %s, want %s", what, keys[0], want)
				}
			}
			h, err := f.History(ctx, res.ID)
			if err != nil {
				t.Fatal(err)
			}
			if h[0].Event != "started" || h[len(h)-1].Event != string(tc.status) {
				t.Fatalf("history from %s to %s, want started to %s: %+v", h[0].Event, h[len(h)-1].Event, tc.status, h)
			}
			attempts := 0
			for _, e := range h {
				if e.Event == "attempt" {
					attempts++
				}
			}
			if attempts != len(tc.calls) {
				t.Fatalf("history has %d attempts, the steps ran %d times: %+v", attempts, len(tc.calls), h)
			}
		})
	}
}

// A step that outlives its timeout counts as having run: it is retried with the
// same key, and compensated with the rest once its retries are spent.
func TestStepTimeout(t *testing.T) {
	o := newOrch(t, "timeouts", nil)
	run(t, o)
	j := &journal{}
	var ctxEnded atomic.Int32
	slow := saga.Step[trip]{Name: "slow", Timeout: 300 * time.Millisecond,
		Retry: retry.Policy{MaxAttempts: 2, Backoff: retry.Backoff{Initial: 10 * time.Millisecond}},
		Action: func(ctx context.Context, s *trip) error {
			j.add(ctx, "slow")
			<-ctx.Done() // the attempt's deadline ends it
			ctxEnded.Add(1)
			return ctx.Err()
		},
		Compensate: func(ctx context.Context, s *trip) error { j.add(ctx, "undo slow"); return nil },
	}
	f, err := saga.Register(o, &saga.Definition[trip]{Name: "timeouts", Steps: []saga.Step[trip]{step(j, "a", nil), slow}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Execute(t.Context(), trip{})
	if !errors.Is(err, saga.ErrCompensated) {
		t.Fatalf("Execute: %v, want compensated", err)
	}
	if got, want := j.list(), []string{"a", "slow", "slow", "undo slow", "undo a"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	if ctxEnded.Load() != 2 {
		t.Fatalf("the attempts' contexts ended %d times, want 2", ctxEnded.Load())
	}
	if !strings.Contains(res.Reason, "step slow") {
		t.Fatalf("reason %q", res.Reason)
	}
}

// The saga's own deadline cuts the step in flight and compensates.
func TestSagaTimeout(t *testing.T) {
	o := newOrch(t, "sagatimeout", nil)
	run(t, o)
	j := &journal{}
	hang := saga.Step[trip]{Name: "hang", Timeout: time.Minute,
		Action:     func(ctx context.Context, s *trip) error { j.add(ctx, "hang"); <-ctx.Done(); return ctx.Err() },
		Compensate: func(ctx context.Context, s *trip) error { j.add(ctx, "undo hang"); return nil },
	}
	f, err := saga.Register(o, &saga.Definition[trip]{Name: "sagatimeout", Timeout: 500 * time.Millisecond,
		Steps: []saga.Step[trip]{step(j, "a", nil), hang}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Execute(t.Context(), trip{})
	if !errors.Is(err, saga.ErrCompensated) {
		t.Fatalf("Execute: %v, want compensated", err)
	}
	if got := j.list(); got[0] != "a" || got[len(got)-1] != "undo a" || !slices.Contains(got, "undo hang") {
		t.Fatalf("calls %v", got)
	}
	if !strings.Contains(res.Reason, "timed out") {
		t.Fatalf("reason %q, want a timeout", res.Reason)
	}
}

// A compensation that keeps failing parks the saga, with an observer event, after
// its retries: never a hot loop.
func TestCompensationFailedParks(t *testing.T) {
	rec := &recorder{}
	o := newOrch(t, "parks", func(c *saga.Config) { c.Observe = rec.observe })
	run(t, o)
	var undos atomic.Int32
	f, err := saga.Register(o, &saga.Definition[trip]{Name: "parks", Steps: []saga.Step[trip]{
		{Name: "a", Timeout: 5 * time.Second,
			Action:          func(context.Context, *trip) error { return nil },
			Compensate:      func(context.Context, *trip) error { undos.Add(1); return errors.New("refund service down") },
			CompensateRetry: retry.Policy{MaxAttempts: 4, Backoff: retry.Backoff{Initial: 20 * time.Millisecond}}},
		{Name: "b", Timeout: 5 * time.Second, Action: func(context.Context, *trip) error { return saga.Permanent(errors.New("declined")) }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Execute(t.Context(), trip{})
	if !errors.Is(err, saga.ErrCompensationFailed) {
		t.Fatalf("Execute: %v, want compensation failed", err)
	}
	if undos.Load() != 4 || res.Status != saga.CompensationFailed || !strings.Contains(res.Reason, "refund service down") {
		t.Fatalf("%d compensations, status %s, reason %q", undos.Load(), res.Status, res.Reason)
	}
	if rec.count("parked") != 1 {
		t.Fatalf("%d parked events, want 1", rec.count("parked"))
	}
	if !slices.Equal(res.Ran, []string{"a"}) {
		t.Fatalf("ran %v, want [a] still to compensate", res.Ran)
	}
}

func TestStartWithID(t *testing.T) {
	o := newOrch(t, "ids", nil)
	j := &journal{}
	f, err := saga.Register(o, &saga.Definition[trip]{Name: "ids", Steps: []saga.Step[trip]{step(j, "a", nil)}})
	if err != nil {
		t.Fatal(err)
	}
	// No worker runs yet: the saga waits, stored.
	id, err := f.Start(t.Context(), trip{}, saga.WithID("order-42"))
	if err != nil || id != "order-42" {
		t.Fatalf("Start: %q, %v", id, err)
	}
	if _, err := f.Start(t.Context(), trip{}, saga.WithID("order-42")); !errors.Is(err, saga.ErrExists) {
		t.Fatalf("second Start: %v, want ErrExists", err)
	}
	res, err := f.Status(t.Context(), id)
	if err != nil || res.Status != saga.Running || res.Step != "a" {
		t.Fatalf("Status: %+v, %v", res.Info, err)
	}
	if l, err := o.List(t.Context(), saga.ListFilter{Status: saga.Running}); err != nil || len(l) != 1 || l[0].ID != id || l[0].Step != "a" {
		t.Fatalf("List of running sagas: %+v, %v", l, err)
	}
	if l, err := o.List(t.Context(), saga.ListFilter{Status: saga.Completed}); err != nil || len(l) != 0 {
		t.Fatalf("List of completed sagas: %+v, %v", l, err)
	}
	if _, err := o.Status(t.Context(), "no-such-saga"); !errors.Is(err, saga.ErrNotFound) {
		t.Fatalf("Status of a missing saga: %v", err)
	}
	// A worker that starts later finds it through its timer.
	run(t, o)
	if res, err := f.Wait(t.Context(), id); err != nil || res.Status != saga.Completed {
		t.Fatalf("Wait: %+v, %v", res.Info, err)
	}
}

// A worker that stops gives its shard leases back (and stops renewing them): the
// next worker takes the shards at once, long before the leases would expire.
func TestStoppedWorkerHandsOver(t *testing.T) {
	long := func(c *saga.Config) { c.LeaseTTL = 2 * time.Minute }
	j := &journal{}
	def := func() *saga.Definition[trip] {
		return &saga.Definition[trip]{Name: "handover", Steps: []saga.Step[trip]{step(j, "a", nil)}}
	}
	first := newOrch(t, "handover", long)
	f1, err := saga.Register(first, def())
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, first)
	if _, err := f1.Execute(t.Context(), trip{}); err != nil {
		t.Fatal(err)
	}
	stop()
	second := newOrch(t, "handover", long)
	f2, err := saga.Register(second, def())
	if err != nil {
		t.Fatal(err)
	}
	run(t, second)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if res, err := f2.Execute(ctx, trip{}); err != nil || res.Status != saga.Completed {
		t.Fatalf("after the first worker stopped: %+v, %v (its leases live 2 minutes: were they given back?)", res.Info, err)
	}
}
