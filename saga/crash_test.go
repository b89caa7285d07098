package saga_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/internal/crashtest"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

// The worker processes of TestCrashRecovery read this.
const crashKSEnv = "SAGA_CRASH_KEYSPACE"

// The six steps of the order flow, with the test's short timeouts.
var crashSteps = []string{"validate_inventory", "reserve_inventory", "process_payment", "create_order", "update_inventory", "send_confirmation"}

// crashState says how a saga of the crash test behaves, decided when it starts.
type crashState struct {
	FailAt  int             `json:"fail_at"`  // the step that fails for good, -1 for none
	BadUndo bool            `json:"bad_undo"` // the first step's compensation never succeeds
	Flaky   map[string]bool `json:"flaky"`    // steps whose first attempt fails
	Hang    map[string]bool `json:"hang"`     // steps whose first attempt outlives its timeout
}

// effect is a participant's side effect, recorded once per idempotency key.
type effect struct {
	Key  string `cql:"key" orm:"pk"`
	Saga string `cql:"saga"`
	Step string `cql:"step"`
	Dir  string `cql:"dir"`
}

const crashTimeout = time.Second

// crashDefinition builds the crash test's saga; kill, when not nil, is this worker
// process's kill point.
func crashDefinition(effects *orm.Model[effect], kill *crashtest.Killer) *saga.Definition[crashState] {
	do := func(ctx context.Context) error {
		k, _ := saga.KeyFrom(ctx)
		kill.At(crashtest.Point(k.Step, k.Direction, "before"))
		err := effects.InsertIfNotExists(ctx, &effect{Key: k.String(), Saga: k.Saga, Step: k.Step, Dir: string(k.Direction)})
		if err != nil && !errors.Is(err, orm.ErrConflict) {
			return err
		}
		kill.At(crashtest.Point(k.Step, k.Direction, "after"))
		return nil
	}
	def := &saga.Definition[crashState]{Name: "crash"}
	for i, name := range crashSteps {
		def.Steps = append(def.Steps, saga.Step[crashState]{
			Name: name, Timeout: crashTimeout,
			Retry:           retry.Policy{MaxAttempts: 5, Backoff: retry.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}},
			CompensateRetry: retry.Policy{MaxAttempts: 30, Backoff: retry.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}},
			Action: func(ctx context.Context, s *crashState) error {
				k, _ := saga.KeyFrom(ctx)
				switch {
				case s.FailAt == i:
					return saga.Permanent(errors.New("refused"))
				case k.Attempt == 1 && s.Hang[name]:
					<-ctx.Done()
					return ctx.Err()
				case k.Attempt == 1 && s.Flaky[name]:
					return errors.New("flaky")
				}
				return do(ctx)
			},
			Compensate: func(ctx context.Context, s *crashState) error {
				if i == 0 && s.BadUndo {
					return errors.New("cannot undo")
				}
				return do(ctx)
			},
		})
	}
	return def
}

func crashOrch(t *testing.T, db *orm.DB) saga.Config {
	return saga.Config{Table: "crash", Shards: 8, MaxShards: 6, LeaseTTL: 2 * time.Second, Poll: 50 * time.Millisecond, Lag: 500 * time.Millisecond}
}

// TestCrashHelper is not a test: TestCrashRecovery runs the test binary as worker
// processes (package crashtest), and this is one. It works until the test stops
// it, or until it kills itself at its kill point.
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
	effects := orm.MustModel[effect](db, orm.TableName("crash_effects"))
	o, err := saga.New(db, crashOrch(t, db))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saga.Register(o, crashDefinition(effects, kill)); err != nil {
		t.Fatal(err)
	}
	_ = o.Run(ctx)
}

// Worker processes are killed with SIGKILL at every step and every compensation,
// before and after the participant's effect, over 200 sagas with random failures
// and timeouts: every saga ends completed or compensated (or parked, for the ones
// whose compensation is made to fail for ever), and each effect matches the saga's
// end: all six done for a completed saga, every one undone for a compensated one.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for a minute or more")
	}
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	effects := orm.MustModel[effect](db, orm.TableName("crash_effects"))
	if err := db.Sync(ctx, effects); err != nil {
		t.Fatal(err)
	}
	o, err := saga.New(db, crashOrch(t, db))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := saga.Register(o, crashDefinition(effects, nil))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(20261202, 9))
	const n = 200
	ids := make([]string, n)
	states := make(map[string]crashState, n)
	for i := range n {
		s := crashState{FailAt: -1, Flaky: map[string]bool{}, Hang: map[string]bool{}}
		if rng.IntN(10) < 3 {
			s.FailAt = rng.IntN(len(crashSteps))
			s.BadUndo = s.FailAt > 0 && rng.IntN(10) == 0
		}
		for _, st := range crashSteps {
			s.Flaky[st] = rng.IntN(10) == 0
			s.Hang[st] = rng.IntN(40) == 0
		}
		if ids[i], err = f.Start(ctx, s, saga.WithID(fmt.Sprintf("crash-%03d", i))); err != nil {
			t.Fatal(err)
		}
		states[ids[i]] = s
	}

	// Kill points: every step and compensation, before and after its effect. Now
	// and then a worker is paused past its lease (SIGSTOP for twice the lease time)
	// and resumed: its writes must be fenced off by then.
	kills := crashtest.Points(crashSteps...)
	pool := crashtest.Start(t, crashtest.Config{Helper: "TestCrashHelper", Env: []string{crashKSEnv + "=" + env.Keyspace()},
		Kills: kills, PauseEvery: 3 * time.Second, PauseFor: 4 * time.Second})
	pool.Until(t, 6*time.Minute, func() (bool, string, error) {
		final := 0
		for _, id := range ids {
			in, err := o.Status(ctx, id)
			if err != nil {
				return false, "", err
			}
			if in.Status.Final() {
				final++
			}
		}
		return final == n, fmt.Sprintf("%d of %d sagas are final", final, n), nil
	})
	reached, missed, paused := pool.Stop()
	t.Logf("%d workers killed themselves at their kill point, %d kill points not reached %q; workers were paused past their lease %d times",
		len(reached), len(missed), missed, paused)
	// A kill point handed to a worker whose sagas never got there does not count;
	// most must have been reached.
	if len(reached) < len(kills)/2 {
		t.Errorf("only %d of %d kill points were reached", len(reached), len(kills))
	}
	done := map[string]bool{}
	for e, err := range effects.Query().AllowFiltering().All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		done[e.Key] = true
	}
	var worst time.Duration
	var worstAt string
	var resumed []time.Duration // how long after an attempt's deadline another worker took its saga over
	counts := map[saga.Status]int{}
	for _, id := range ids {
		s := states[id]
		in, err := o.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		counts[in.Status]++
		switch {
		case s.FailAt < 0 && in.Status == saga.Compensated && strings.Contains(in.Reason, saga.ErrStepTimeout.Error()):
			// Its worker died in every attempt of a step, or the step hung: a timed-out
			// step may have run, and compensating it is right.
			t.Logf("saga %s has no failing step and compensated after timeouts: %s", id, in.Reason)
		case s.FailAt < 0 && in.Status != saga.Completed:
			t.Errorf("saga %s has no failing step but ended %s (%s)", id, in.Status, in.Reason)
		case s.FailAt >= 0 && s.BadUndo && in.Status != saga.CompensationFailed:
			t.Errorf("saga %s has a compensation that always fails but ended %s", id, in.Status)
		case s.FailAt >= 0 && !s.BadUndo && in.Status != saga.Compensated:
			t.Errorf("saga %s fails at %s but ended %s (%s)", id, crashSteps[s.FailAt], in.Status, in.Reason)
		}
		for i, st := range crashSteps {
			did, undid := done[id+"/"+st+"/do"], done[id+"/"+st+"/undo"]
			switch in.Status {
			case saga.Completed:
				if !did || undid {
					t.Errorf("completed saga %s: step %s done=%v undone=%v", id, st, did, undid)
				}
			case saga.Compensated:
				if did && !undid {
					t.Errorf("compensated saga %s: step %s done and never undone", id, st)
				}
				if s.FailAt >= 0 && i >= s.FailAt && did {
					h, _ := o.History(ctx, id)
					t.Errorf("compensated saga %s: step %s at or after the failing one took effect; state %+v, history %+v", id, st, s, h)
				}
			case saga.CompensationFailed:
				if i > 0 && did && !undid {
					t.Errorf("parked saga %s: step %s, after the one that cannot be undone, was not undone", id, st)
				}
			}
		}
		h, err := o.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r, longest, which := crashtest.Takeovers(h, func(string) time.Duration { return crashTimeout })
		resumed = append(resumed, r...)
		if longest > worst {
			worst, worstAt = longest, id+" "+which
		}
	}
	t.Logf("attempts taken over by another worker, how long after their deadline: %s", crashtest.Summary(resumed))
	t.Logf("outcomes %v; longest an attempt stayed in flight: %s, %s (step timeout %s, lease %s)", counts, worst, worstAt, crashTimeout, 2*time.Second)
	// How long attempts stayed in flight is a measurement (reported above), not an
	// assertion: on a loaded machine a replacement worker can take a while to start.
}
