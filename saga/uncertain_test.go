package saga_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// plan says what happens to the conditional writes of one saga: the n-th (from 0,
// Start's insert) is lost as lose(n) says, and the first failReads serial reads
// that settle one fail.
type plan struct {
	lose      func(n int) (lost, applied bool)
	failReads int

	writes, lost, reads int // counted so far
}

// lossPlans holds the plans of the sagas of a test, by saga id; a saga without one
// loses nothing.
type lossPlans struct {
	mu    sync.Mutex
	plans map[string]*plan
}

// errReadLost is the error of a settle read that FailSettles makes fail.
var errReadLost = fmt.Errorf("saga test: the serial read was lost: %w", orm.ErrTimeout)

// install makes o lose answers and fail settle reads as the plans say.
func (l *lossPlans) install(o *saga.Orchestrator) {
	l.plans = map[string]*plan{}
	saga.LoseAnswers(o, func(id string) (bool, bool) {
		l.mu.Lock()
		defer l.mu.Unlock()
		p := l.plans[id]
		if p == nil {
			return false, false
		}
		n := p.writes
		p.writes++
		lost, applied := p.lose(n)
		if lost {
			p.lost++
		}
		return lost, applied
	})
	saga.FailSettles(o, func(id string) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		p := l.plans[id]
		if p == nil {
			return nil
		}
		p.reads++
		if p.failReads == 0 {
			return nil
		}
		p.failReads--
		return errReadLost
	})
}

// set gives saga id plan p, counting from zero.
func (l *lossPlans) set(id string, p *plan) {
	l.mu.Lock()
	l.plans[id] = p
	l.mu.Unlock()
}

// counts returns the writes of saga id lost so far and the serial reads tried.
func (l *lossPlans) counts(id string) (lost, reads int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.plans[id]
	return p.lost, p.reads
}

// loseAt loses the write numbered at, applied or not.
func loseAt(at int, applied bool) func(int) (bool, bool) {
	return func(n int) (bool, bool) { return n == at, applied }
}

// keyedEffect is a participant's effect, recorded once per idempotency key in its
// saga's partition.
type keyedEffect struct {
	Saga string `cql:"saga" orm:"pk"`
	Key  string `cql:"key" orm:"ck"`
}

// stepCalls records the calls of actions and compensations: the attempts each
// idempotency key was called with, in order.
type stepCalls struct {
	mu sync.Mutex
	by map[string][]int
}

func (c *stepCalls) add(k saga.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string][]int{}
	}
	c.by[k.String()] = append(c.by[k.String()], k.Attempt)
}

// of returns the calls of saga id's keys.
func (c *stepCalls) of(id string) map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]int{}
	for k, v := range c.by {
		if strings.HasPrefix(k, id+"/") {
			out[k] = slices.Clone(v)
		}
	}
	return out
}

// unknownOutcomes is what the tests of this file share: an orchestrator that
// loses answers as plans say, running a worker, its observer and warnings, the
// participants' effects and calls.
type unknownOutcomes struct {
	o        *saga.Orchestrator
	plans    *lossPlans
	events   *recorder
	warnings *warnings
	effects  *orm.Model[keyedEffect]
	calls    *stepCalls
}

// stepTimeout bounds the steps' attempts: an attempt whose outcome was not stored
// is taken up again that long after it started.
const stepTimeout = 2 * time.Second

func newUnknownOutcomes(t *testing.T) *unknownOutcomes {
	t.Helper()
	u := &unknownOutcomes{plans: &lossPlans{}, events: &recorder{}, warnings: &warnings{}, calls: &stepCalls{}}
	u.o = newOrch(t, "uncertain", func(c *saga.Config) {
		c.Observe = u.events.observe
		c.Log = slog.New(u.warnings)
	})
	u.plans.install(u.o)
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	u.effects = orm.MustModel[keyedEffect](db, orm.TableName("uncertain_effects"))
	if err := db.Sync(t.Context(), u.effects); err != nil {
		t.Fatal(err)
	}
	run(t, u.o)
	return u
}

// define registers a saga of steps a, b and c, each with a compensation, whose
// calls are recorded and whose effects are written once per idempotency key; c
// fails for good when refuse is set, so the saga compensates a and b.
func (u *unknownOutcomes) define(t *testing.T, name string, refuse bool) *saga.Flow[trip] {
	t.Helper()
	effect := func(ctx context.Context, _ *trip) error {
		k, _ := saga.KeyFrom(ctx)
		u.calls.add(k)
		if refuse && k.Step == "c" && k.Direction == saga.Do {
			return saga.Permanent(errors.New("c refused"))
		}
		err := u.effects.InsertIfNotExists(ctx, &keyedEffect{Saga: k.Saga, Key: k.String()})
		if err != nil && !errors.Is(err, orm.ErrConflict) {
			return err
		}
		return nil
	}
	def := &saga.Definition[trip]{Name: name}
	for _, s := range []string{"a", "b", "c"} {
		def.Steps = append(def.Steps, saga.Step[trip]{Name: s, Timeout: stepTimeout, Retry: quick, CompensateRetry: quick,
			Action: effect, Compensate: effect})
	}
	f, err := saga.Register(u.o, def)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// wantEffects checks that saga id's participants' effects are one for each step
// and direction that rec says succeeded, and no other.
func (u *unknownOutcomes) wantEffects(t *testing.T, id string, rec record) {
	t.Helper()
	var got, want []string
	for e, err := range u.effects.Query().Where(orm.Eq("saga", id)).All(t.Context()) {
		if err != nil {
			t.Fatalf("saga %s: reading its effects: %v", id, err)
		}
		got = append(got, strings.TrimPrefix(e.Key, id+"/"))
	}
	for k, end := range rec.ends {
		if end == "succeeded" {
			want = append(want, k.step+"/"+string(k.dir))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("saga %s: effects %v, want %v (the steps that succeeded), once each", id, got, want)
	}
}

// attemptKey names one attempt of a step in a direction.
type attemptKey struct {
	step    string
	dir     saga.Direction
	attempt int
}

// record is what a saga's history says about its attempts: how each ended
// (succeeded, failed or timed_out), and the entries in order.
type record struct {
	ends    map[attemptKey]string
	entries []saga.Entry
}

// consistent reads saga id's history and checks that it is one sequence: the
// versions 1 to in.Version, none missing, from "started" to the saga's end; every
// step's attempts in each direction numbered from 1, each begun once and ended once.
func (u *unknownOutcomes) consistent(t *testing.T, in saga.Info) record {
	t.Helper()
	id := in.ID
	hist, err := u.o.History(t.Context(), id)
	if err != nil {
		t.Fatalf("saga %s: history: %v", id, err)
	}
	var versions []int64
	for _, e := range hist {
		if len(versions) == 0 || versions[len(versions)-1] != e.Version {
			versions = append(versions, e.Version)
		}
	}
	for i, v := range versions {
		if v != int64(i+1) || i == len(versions)-1 && v != in.Version {
			t.Fatalf("saga %s: history versions %v, want 1 to %d, each once", id, versions, in.Version)
		}
	}
	end := map[saga.Status]string{saga.Completed: "completed", saga.Compensated: "compensated"}[in.Status]
	if hist[0].Event != "started" || hist[len(hist)-1].Event != end {
		t.Fatalf("saga %s: history from %q to %q, want from started to %q", id, hist[0].Event, hist[len(hist)-1].Event, end)
	}
	rec := record{ends: map[attemptKey]string{}, entries: hist}
	begun := map[attemptKey]bool{}
	last := map[attemptKey]int{} // by step and direction, attempt 0
	for _, e := range hist {
		k := attemptKey{e.Step, e.Direction, e.Attempt}
		sd := attemptKey{step: e.Step, dir: e.Direction}
		switch e.Event {
		case "attempt":
			if begun[k] || e.Attempt != last[sd]+1 {
				t.Fatalf("saga %s: version %d begins attempt %d of %s %s after attempt %d: want attempts 1, 2, ... once each", id, e.Version, e.Attempt, e.Direction, e.Step, last[sd])
			}
			begun[k], last[sd] = true, e.Attempt
		case "succeeded", "failed", "timed_out":
			if !begun[k] || rec.ends[k] != "" {
				t.Fatalf("saga %s: version %d ends attempt %d of %s %s (%s), begun %v, ended before as %q", id, e.Version, e.Attempt, e.Direction, e.Step, e.Event, begun[k], rec.ends[k])
			}
			rec.ends[k] = e.Event
		}
	}
	for k := range begun {
		if rec.ends[k] == "" {
			t.Fatalf("saga %s: attempt %d of %s %s never ended", id, k.attempt, k.dir, k.step)
		}
	}
	return rec
}

// ran checks saga id's calls against rec: every call was of an attempt the
// history records, once; an attempt recorded but never called timed out, and is
// allowed only when uncalled is set.
func (u *unknownOutcomes) ran(t *testing.T, id string, rec record, uncalled bool) {
	t.Helper()
	called := map[attemptKey]int{}
	for key, attempts := range u.calls.of(id) {
		parts := strings.Split(key, "/")
		for _, a := range attempts {
			called[attemptKey{parts[1], saga.Direction(parts[2]), a}]++
		}
	}
	for k, n := range called {
		if n != 1 || rec.ends[k] == "" {
			t.Errorf("saga %s: attempt %d of %s %s called %d times, recorded %v: want once, recorded", id, k.attempt, k.dir, k.step, n, rec.ends[k] != "")
		}
	}
	for k, end := range rec.ends {
		if called[k] == 0 && (!uncalled || end != "timed_out") {
			t.Errorf("saga %s: attempt %d of %s %s recorded (%s) but never called", id, k.attempt, k.dir, k.step, end)
		}
	}
}

// entryKey is what an entry and an observer event share.
type entryKey struct {
	event, step string
	dir         saga.Direction
	attempt     int
}

// reported checks that the observer saw the entries of saga id's history, as
// many times as stored, except those of version unreported (none when it is 0):
// the worker reports what it knows it stored, never more.
func (u *unknownOutcomes) reported(t *testing.T, id string, rec record, unreported int64) {
	t.Helper()
	want := map[entryKey]int{}
	for _, e := range rec.entries {
		if e.Version != unreported {
			want[entryKey{e.Event, e.Step, e.Direction, e.Attempt}]++
		}
	}
	// The worker tells the observer after it has written the history, so Wait
	// may return before the last event is reported: wait for it.
	testenv.WaitFor(t, 30*time.Second, func() error {
		got := map[entryKey]int{}
		u.events.mu.Lock()
		for _, e := range u.events.events {
			if e.Saga == id {
				got[entryKey{e.Kind, e.Step, e.Direction, e.Attempt}]++
			}
		}
		u.events.mu.Unlock()
		if !maps.Equal(got, want) {
			return fmt.Errorf("saga %s: the observer saw %v, want the history's entries but version %d's: %v", id, got, unreported, want)
		}
		return nil
	})
}

// warnings is a slog handler that keeps the errors the worker logs, by saga.
type warnings struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }

func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	var id string
	var err error
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "saga":
			id = a.Value.String()
		case "err":
			err, _ = a.Value.Any().(error)
		}
		return true
	})
	if id != "" && err != nil {
		w.mu.Lock()
		if w.errs == nil {
			w.errs = map[string][]error{}
		}
		w.errs[id] = append(w.errs[id], err)
		w.mu.Unlock()
	}
	return nil
}

func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) of(id string) []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs[id])
}

// Each conditional write of a saga whose answer is lost, applied or not, one per
// saga, and sagas whose every answer is lost: each is settled by a serial read, so
// every saga ends as it would have, its history is one sequence that the observer
// saw whole, every attempt it records was called once, and every effect happened
// once.
func TestLostAnswers(t *testing.T) {
	u := newUnknownOutcomes(t)
	type lossCase struct {
		name   string
		refuse bool // c fails for good: the saga compensates
		lose   func(n int) (bool, bool)
	}
	// A saga of a, b and c writes 4 transitions after its start, one that
	// compensates 9 (a, b, c refused, undo b in 2, undo a in 2, compensated).
	var cases []lossCase
	for _, refuse := range []bool{false, true} {
		end, writes := "completes", 4
		if refuse {
			end, writes = "compensates", 9
		}
		for _, applied := range []bool{true, false} {
			what := map[bool]string{true: "answer lost", false: "request lost"}[applied]
			for at := 1; at <= writes; at++ {
				cases = append(cases, lossCase{fmt.Sprintf("%s, write %d: %s", end, at, what), refuse, loseAt(at, applied)})
			}
		}
		cases = append(cases, lossCase{end + ", every answer lost", refuse, func(int) (bool, bool) { return true, true }})
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a request lost with an attempt's outcome waits out the step's timeout
			f := u.define(t, fmt.Sprintf("lost_%d", i), tc.refuse)
			id := orm.NewUUID().String()
			u.plans.set(id, &plan{lose: tc.lose})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := f.Start(ctx, trip{}, saga.WithID(id)); err != nil {
				t.Fatalf("saga %s: start: %v", id, err)
			}
			res, err := f.Wait(ctx, id)
			want := saga.Completed
			if tc.refuse {
				want = saga.Compensated
			}
			if res.Status != want || (err == nil) != (want == saga.Completed) {
				t.Fatalf("saga %s: %s, %v; want %s", id, res.Status, err, want)
			}
			if lost, _ := u.plans.counts(id); lost == 0 {
				t.Fatalf("saga %s: no answer was lost", id)
			}
			rec := u.consistent(t, res.Info)
			u.ran(t, id, rec, false)
			u.reported(t, id, rec, 0)
			u.wantEffects(t, id, rec)
		})
	}
}

// Start's insert whose answer is lost is settled by a serial read: applied, the
// saga started; not applied, it did not, and Start says so; a second Start of the
// same id is refused with ErrExists, its request lost or not.
func TestStartLostAnswer(t *testing.T) {
	u := newUnknownOutcomes(t)
	none := func(int) (bool, bool) { return false, false }
	tests := []struct {
		name string
		// lose plans the first Start's insert, again the second's (made after the
		// saga ended, if the first started it).
		lose, again func(int) (bool, bool)
		started     bool  // the first Start started the saga
		second      error // the second Start's error (errors.Is), nil when it starts the saga
	}{
		{"answer lost", loseAt(0, true), none, true, saga.ErrExists},
		{"request lost", loseAt(0, false), none, false, nil},
		{"a second start's request lost", none, loseAt(0, false), true, saga.ErrExists},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := u.define(t, fmt.Sprintf("start_%d", i), false)
			id := orm.NewUUID().String()
			u.plans.set(id, &plan{lose: tc.lose})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			got, err := f.Start(ctx, trip{}, saga.WithID(id))
			if tc.started {
				if got != id || err != nil {
					t.Fatalf("saga %s: start: %q, %v; want its id and no error", id, got, err)
				}
				if res, err := f.Wait(ctx, id); res.Status != saga.Completed || err != nil {
					t.Fatalf("saga %s: %s, %v; want it completed", id, res.Status, err)
				}
			} else {
				if got != "" || !errors.Is(err, orm.ErrUncertain) || !strings.Contains(err.Error(), "not started") || !strings.Contains(err.Error(), id) {
					t.Fatalf("saga %s: start: %q, %v; want no id and an error naming the saga, saying it was not started", id, got, err)
				}
				if _, err := f.Status(ctx, id); !errors.Is(err, saga.ErrNotFound) {
					t.Fatalf("saga %s: status after it was not started: %v, want ErrNotFound", id, err)
				}
			}
			lost, _ := u.plans.counts(id)
			u.plans.set(id, &plan{lose: tc.again})
			got, err = f.Start(ctx, trip{}, saga.WithID(id))
			if tc.second != nil {
				if !errors.Is(err, tc.second) || !strings.Contains(err.Error(), id) {
					t.Fatalf("saga %s: second start: %q, %v; want %v naming the saga", id, got, err, tc.second)
				}
			} else if got != id || err != nil {
				t.Fatalf("saga %s: second start: %q, %v; want its id and no error", id, got, err)
			}
			again, _ := u.plans.counts(id)
			if lost+again != 1 {
				t.Fatalf("saga %s: %d inserts lost, want 1", id, lost+again)
			}
			res, err := f.Wait(ctx, id)
			if res.Status != saga.Completed || err != nil {
				t.Fatalf("saga %s: %s, %v; want it completed", id, res.Status, err)
			}
			rec := u.consistent(t, res.Info)
			u.ran(t, id, rec, false)
			u.reported(t, id, rec, 0)
			u.wantEffects(t, id, rec)
		})
	}
}

// A write whose answer is lost and whose settling serial read fails too: its
// outcome stays unknown, so the worker reports nothing of it and drops the saga,
// logging an error that says so; the timer written before the write brings the
// saga back, and it ends with every effect once.
func TestSettleReadFails(t *testing.T) {
	u := newUnknownOutcomes(t)
	tests := []struct {
		name    string
		at      int  // the write lost: 1 starts a's first attempt, 2 stores its success with b's start, 4 completes
		applied bool // it reached the server
	}{
		{"a's first attempt, answer lost", 1, true},
		{"a's first attempt, request lost", 1, false},
		{"a's success and b's start, answer lost", 2, true},
		{"a's success and b's start, request lost", 2, false},
		{"the completion, answer lost", 4, true},
		{"the completion, request lost", 4, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out a step's timeout
			f := u.define(t, fmt.Sprintf("read_%d", i), false)
			id := orm.NewUUID().String()
			u.plans.set(id, &plan{lose: loseAt(tc.at, tc.applied), failReads: 1})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if _, err := f.Start(ctx, trip{}, saga.WithID(id)); err != nil {
				t.Fatalf("saga %s: start: %v", id, err)
			}
			res, err := f.Wait(ctx, id)
			if res.Status != saga.Completed || err != nil {
				t.Fatalf("saga %s: %s, %v; want it completed", id, res.Status, err)
			}
			if lost, reads := u.plans.counts(id); lost != 1 || reads != 1 {
				t.Fatalf("saga %s: %d writes lost, %d serial reads tried; want 1 and 1", id, lost, reads)
			}
			errs := u.warnings.of(id)
			if !slices.ContainsFunc(errs, func(err error) bool {
				return errors.Is(err, orm.ErrUncertain) && errors.Is(err, errReadLost) && strings.Contains(err.Error(), id)
			}) {
				t.Fatalf("saga %s: the worker logged %v; want an error naming the saga, its outcome unknown and the read failed", id, errs)
			}
			rec := u.consistent(t, res.Info)
			u.ran(t, id, rec, tc.applied)
			unreported := int64(0)
			if tc.applied {
				unreported = int64(tc.at) + 1 // the version that write stored
			}
			u.reported(t, id, rec, unreported)
			u.wantEffects(t, id, rec)
		})
	}
	// Start's insert: its outcome unknown, Start returns the id and an error saying
	// so; the saga, if stored, is run by the timer Start wrote first.
	for _, applied := range []bool{true, false} {
		name := map[bool]string{true: "start, answer lost", false: "start, request lost"}[applied]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := u.define(t, fmt.Sprintf("read_start_%v", applied), false)
			id := orm.NewUUID().String()
			u.plans.set(id, &plan{lose: loseAt(0, applied), failReads: 1})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			got, err := f.Start(ctx, trip{}, saga.WithID(id))
			if got != id || !errors.Is(err, orm.ErrUncertain) || !errors.Is(err, errReadLost) || strings.Contains(err.Error(), "not started") {
				t.Fatalf("saga %s: start: %q, %v; want its id and an error saying its outcome is unknown", id, got, err)
			}
			if !applied {
				if _, err := f.Status(ctx, id); !errors.Is(err, saga.ErrNotFound) {
					t.Fatalf("saga %s: status: %v, want ErrNotFound", id, err)
				}
				// The caller starts it again with the same id, as it should when
				// Start's outcome is unknown.
				if _, err := f.Start(ctx, trip{}, saga.WithID(id)); err != nil {
					t.Fatalf("saga %s: second start: %v", id, err)
				}
			} else if _, err := f.Start(ctx, trip{}, saga.WithID(id)); !errors.Is(err, saga.ErrExists) {
				t.Fatalf("saga %s: second start: %v, want ErrExists", id, err)
			}
			res, err := f.Wait(ctx, id)
			if res.Status != saga.Completed || err != nil {
				t.Fatalf("saga %s: %s, %v; want it completed", id, res.Status, err)
			}
			rec := u.consistent(t, res.Info)
			u.ran(t, id, rec, false)
			u.reported(t, id, rec, map[bool]int64{true: 1, false: 0}[applied])
			u.wantEffects(t, id, rec)
		})
	}
}
