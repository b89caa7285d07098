package barrier_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("barrier_test")

func TestMain(m *testing.M) { env.Main(m) }

// synced makes sure each table is created once per run, whatever test asks first.
var synced sync.Map

// newBarrier returns a barrier on the package's keyspace (on a tenanted view when
// tenanted), its table synced.
func newBarrier(t *testing.T, cfg barrier.Config, tenanted bool) *barrier.Barrier {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tenanted {
		if db, err = db.WithTenancy(orm.Tenancy{}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := barrier.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	once, _ := synced.LoadOrStore(cfg.Table, &sync.Once{})
	var serr error
	once.(*sync.Once).Do(func() { serr = b.Sync(t.Context()) })
	if serr != nil {
		t.Fatal(serr)
	}
	return b
}

// branch returns a branch name no other test or run uses.
func branch(name string) string { return "saga-" + orm.NewUUID().String() + "/" + name }

// counter is an fn that counts its calls and returns err.
type counter struct {
	n   atomic.Int32
	err error
}

func (c *counter) fn(context.Context) error { c.n.Add(1); return c.err }

// call is one Do or Undo of a scenario and what it must give.
type call struct {
	op      barrier.Op
	fails   bool // fn returns an error
	want    barrier.Outcome
	wantErr error // errors.Is; nil for none, errAny for any
}

var errAny = errors.New("any error")

var errBoom = errors.New("boom")

func TestScenarios(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	tests := []struct {
		name  string
		calls []call
		// wantDo and wantUndo are how often the do and the undo fn ran.
		wantDo, wantUndo int32
		state            barrier.BranchState
	}{{
		name:   "duplicate do",
		calls:  []call{{op: barrier.Do, want: barrier.Ran}, {op: barrier.Do, want: barrier.Duplicate}, {op: barrier.Do, want: barrier.Duplicate}},
		wantDo: 1, state: barrier.BranchState{Do: "done"},
	}, {
		name: "duplicate undo",
		calls: []call{{op: barrier.Do, want: barrier.Ran}, {op: barrier.Undo, want: barrier.Ran},
			{op: barrier.Undo, want: barrier.Duplicate}},
		wantDo: 1, wantUndo: 1, state: barrier.BranchState{Do: "done", Undo: "done"},
	}, {
		name: "undo before do",
		calls: []call{{op: barrier.Undo, want: barrier.NullCompensation}, {op: barrier.Undo, want: barrier.Duplicate},
			{op: barrier.Do, want: barrier.Skipped, wantErr: barrier.ErrCompensated}},
		state: barrier.BranchState{Undo: "null"},
	}, {
		name: "do after undo",
		calls: []call{{op: barrier.Do, want: barrier.Ran}, {op: barrier.Undo, want: barrier.Ran},
			{op: barrier.Do, want: barrier.Skipped, wantErr: barrier.ErrCompensated}},
		wantDo: 1, wantUndo: 1, state: barrier.BranchState{Do: "done", Undo: "done"},
	}, {
		name: "failed do runs again",
		calls: []call{{op: barrier.Do, fails: true, wantErr: errBoom}, {op: barrier.Do, fails: true, wantErr: errBoom},
			{op: barrier.Do, want: barrier.Ran}, {op: barrier.Do, want: barrier.Duplicate}},
		wantDo: 3, state: barrier.BranchState{Do: "done"},
	}, {
		name: "failed undo runs again",
		calls: []call{{op: barrier.Do, want: barrier.Ran}, {op: barrier.Undo, fails: true, wantErr: errBoom},
			{op: barrier.Undo, want: barrier.Ran}, {op: barrier.Undo, want: barrier.Duplicate}},
		wantDo: 1, wantUndo: 2, state: barrier.BranchState{Do: "done", Undo: "done"},
	}, {
		name: "undo after a failed do compensates it",
		calls: []call{{op: barrier.Do, fails: true, wantErr: errBoom}, {op: barrier.Undo, want: barrier.Ran},
			{op: barrier.Do, want: barrier.Skipped, wantErr: barrier.ErrCompensated}},
		wantDo: 1, wantUndo: 1, state: barrier.BranchState{Do: "failed", Undo: "done"},
	}, {
		name: "do after a failed undo is skipped",
		calls: []call{{op: barrier.Do, want: barrier.Ran}, {op: barrier.Undo, fails: true, wantErr: errBoom},
			{op: barrier.Do, want: barrier.Skipped, wantErr: barrier.ErrCompensated}},
		wantDo: 1, wantUndo: 1, state: barrier.BranchState{Do: "done", Undo: "failed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := branch(tt.name)
			do, undo := &counter{}, &counter{}
			for i, c := range tt.calls {
				f := do
				if c.op == barrier.Undo {
					f = undo
				}
				f.err = nil
				if c.fails {
					f.err = errBoom
				}
				run := b.Do
				if c.op == barrier.Undo {
					run = b.Undo
				}
				got, err := run(t.Context(), br, f.fn)
				if got != c.want || !matches(err, c.wantErr) {
					t.Fatalf("call %d (%s): got %v, %v; want %v, %v", i, c.op, got, err, c.want, c.wantErr)
				}
			}
			if do.n.Load() != tt.wantDo || undo.n.Load() != tt.wantUndo {
				t.Errorf("do ran %d times, undo %d; want %d and %d", do.n.Load(), undo.n.Load(), tt.wantDo, tt.wantUndo)
			}
			st, err := b.State(t.Context(), br)
			if err != nil {
				t.Fatal(err)
			}
			if st.Do != tt.state.Do || st.Undo != tt.state.Undo {
				t.Errorf("state: do %q, undo %q; want %q, %q", st.Do, st.Undo, tt.state.Do, tt.state.Undo)
			}
			if (st.Do == "") != st.DoAt.IsZero() || (st.Undo == "") != st.UndoAt.IsZero() {
				t.Errorf("state %+v: a time is set for a phase never recorded, or missing for one that was", st)
			}
		})
	}
}

// matches reports whether err is what want asks for.
func matches(err, want error) bool {
	switch want {
	case nil:
		return err == nil
	case errAny:
		return err != nil
	}
	return errors.Is(err, want)
}

func TestStateOfUnknownBranch(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	st, err := b.State(t.Context(), branch("never"))
	if err != nil {
		t.Fatal(err)
	}
	if st != (barrier.BranchState{}) {
		t.Errorf("state of a branch never seen: %+v, want zero", st)
	}
}

// blocked starts op on branch in a goroutine with fn blocked until release is
// closed; it returns once fn has started, and the call's result arrives on the
// returned channel. started is closed when fn runs; ctxDone when fn sees its
// context end.
type blocked struct {
	release chan struct{}
	ctxDone chan struct{}
	result  chan result
}

type result struct {
	out barrier.Outcome
	err error
}

func startBlocked(t *testing.T, ctx context.Context, run func(context.Context, string, func(context.Context) error) (barrier.Outcome, error), br string) *blocked {
	t.Helper()
	bl := &blocked{release: make(chan struct{}), ctxDone: make(chan struct{}), result: make(chan result, 1)}
	started := make(chan struct{})
	go func() {
		out, err := run(ctx, br, func(ctx context.Context) error {
			close(started)
			go func() {
				select {
				case <-ctx.Done():
					close(bl.ctxDone)
				case <-bl.release:
				}
			}()
			<-bl.release
			return nil
		})
		bl.result <- result{out, err}
	}()
	select {
	case <-started:
	case r := <-bl.result:
		t.Fatalf("the blocked call returned before running fn: %v, %v", r.out, r.err)
	case <-t.Context().Done():
		t.Fatal("the blocked call never ran fn")
	}
	return bl
}

func (bl *blocked) finish(t *testing.T) result {
	t.Helper()
	close(bl.release)
	select {
	case r := <-bl.result:
		return r
	case <-t.Context().Done():
		t.Fatal("the blocked call never returned")
		return result{}
	}
}

func TestInFlight(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	for _, op := range []barrier.Op{barrier.Do, barrier.Undo} {
		t.Run(string(op), func(t *testing.T) {
			br := branch("in-flight")
			if op == barrier.Undo {
				if _, err := b.Do(t.Context(), br, (&counter{}).fn); err != nil {
					t.Fatal(err)
				}
			}
			run := b.Do
			if op == barrier.Undo {
				run = b.Undo
			}
			bl := startBlocked(t, t.Context(), run, br)
			st, err := b.State(t.Context(), br)
			if err != nil {
				t.Fatal(err)
			}
			if got := map[barrier.Op]barrier.Phase{barrier.Do: st.Do, barrier.Undo: st.Undo}[op]; got != "started" {
				t.Errorf("state while the %s runs: %+v, want it started", op, st)
			}
			for _, other := range []barrier.Op{barrier.Do, barrier.Undo} {
				f := &counter{}
				call := b.Do
				if other == barrier.Undo {
					call = b.Undo
				}
				// A do while its undo runs is skipped at once: it may never run,
				// however the undo ends. Anything else waits for the run.
				want, wantErr := barrier.Outcome(0), barrier.ErrInFlight
				if op == barrier.Undo && other == barrier.Do {
					want, wantErr = barrier.Skipped, barrier.ErrCompensated
				}
				out, err := call(t.Context(), br, f.fn)
				if !errors.Is(err, wantErr) || out != want || f.n.Load() != 0 {
					t.Errorf("%s while a %s runs: %v, %v, fn ran %d times; want %v, %v and no run", other, op, out, err, f.n.Load(), want, wantErr)
				}
			}
			if r := bl.finish(t); r.out != barrier.Ran || r.err != nil {
				t.Errorf("the blocked %s: %v, %v; want ran", op, r.out, r.err)
			}
			// Once it has finished, the branch goes on as usual.
			f := &counter{}
			want := barrier.Ran
			if op == barrier.Undo {
				want = barrier.Duplicate
			}
			if out, err := b.Undo(t.Context(), br, f.fn); out != want || err != nil {
				t.Errorf("undo after the %s finished: %v, %v; want %v", op, out, err, want)
			}
		})
	}
}

func TestAbandonedRunIsTakenOver(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	tests := []struct {
		name      string
		first     barrier.Op
		then      barrier.Op
		want      barrier.Outcome
		wantState barrier.BranchState
	}{
		{"do by do", barrier.Do, barrier.Do, barrier.Ran, barrier.BranchState{Do: "done"}},
		{"do by undo", barrier.Do, barrier.Undo, barrier.Ran, barrier.BranchState{Do: "failed", Undo: "done"}},
		{"undo by undo", barrier.Undo, barrier.Undo, barrier.Ran, barrier.BranchState{Do: "done", Undo: "done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits out its own deadline
			br := branch("abandoned")
			ops := map[barrier.Op]func(context.Context, string, func(context.Context) error) (barrier.Outcome, error){
				barrier.Do: b.Do, barrier.Undo: b.Undo,
			}
			if tt.first == barrier.Undo {
				if _, err := b.Do(t.Context(), br, (&counter{}).fn); err != nil {
					t.Fatal(err)
				}
			}
			// Generous: the take must land before the deadline on a loaded machine.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			bl := startBlocked(t, ctx, ops[tt.first], br)
			select {
			case <-bl.ctxDone: // the run's deadline has passed, fn is still blocked
			case <-t.Context().Done():
				t.Fatal("fn's context never ended")
			}
			before, err := b.State(t.Context(), br)
			if err != nil {
				t.Fatal(err)
			}
			f := &counter{}
			out, err := ops[tt.then](t.Context(), br, f.fn)
			if out != tt.want || err != nil || f.n.Load() != 1 {
				t.Fatalf("%s after the %s was abandoned: %v, %v, fn ran %d times; want %v and one run", tt.then, tt.first, out, err, f.n.Load(), tt.want)
			}
			if r := bl.finish(t); !errors.Is(r.err, barrier.ErrLost) || r.out != 0 {
				t.Errorf("the abandoned %s, finishing: %v, %v; want ErrLost", tt.first, r.out, r.err)
			}
			st, err := b.State(t.Context(), br)
			if err != nil {
				t.Fatal(err)
			}
			if st.Do != tt.wantState.Do || st.Undo != tt.wantState.Undo {
				t.Errorf("state: do %q, undo %q; want %q, %q", st.Do, st.Undo, tt.wantState.Do, tt.wantState.Undo)
			}
			// The abandoned run's side was recorded again by the run that took it
			// over (its start and end, or its fencing by the undo); the deadline
			// passed in between.
			was, now := before.DoAt, st.DoAt
			if tt.first == barrier.Undo {
				was, now = before.UndoAt, st.UndoAt
			}
			if !now.After(was) {
				t.Errorf("the abandoned %s's time: %v before the takeover, %v after; want it later", tt.first, was, now)
			}
		})
	}
}

func TestConcurrentDoRunsOnce(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	br := branch("concurrent")
	const n = 20
	var runs atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	outs := make([]barrier.Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = b.Do(t.Context(), br, func(context.Context) error {
				runs.Add(1)
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	if got := runs.Load(); got != 1 {
		t.Errorf("fn ran %d times, want once", got)
	}
	ran := 0
	for i := range n {
		switch {
		case outs[i] == barrier.Ran && errs[i] == nil:
			ran++
		case outs[i] == barrier.Duplicate && errs[i] == nil:
		case outs[i] == 0 && errors.Is(errs[i], barrier.ErrInFlight):
		default:
			t.Errorf("call %d: %v, %v; want ran, duplicate or ErrInFlight", i, outs[i], errs[i])
		}
	}
	if ran != 1 {
		t.Errorf("%d calls ran, want 1", ran)
	}
	if out, err := b.Do(t.Context(), br, func(context.Context) error { runs.Add(1); return nil }); out != barrier.Duplicate || err != nil {
		t.Errorf("do after them: %v, %v; want duplicate", out, err)
	}
}

func TestTenancy(t *testing.T) {
	b := newBarrier(t, barrier.Config{Table: "saga_barrier_tenanted"}, true)
	br := branch("tenanted")
	acme, globex := tenant.With(t.Context(), "acme"), tenant.With(t.Context(), "globex")
	f := &counter{}
	if out, err := b.Undo(acme, br, f.fn); out != barrier.NullCompensation || err != nil {
		t.Fatalf("acme's undo: %v, %v; want a null compensation", out, err)
	}
	if out, err := b.Do(globex, br, f.fn); out != barrier.Ran || err != nil {
		t.Fatalf("globex's do of the same branch: %v, %v; want ran", out, err)
	}
	if out, err := b.Do(acme, br, f.fn); out != barrier.Skipped || !errors.Is(err, barrier.ErrCompensated) {
		t.Fatalf("acme's do: %v, %v; want skipped", out, err)
	}
	for name, ctx := range map[string]context.Context{"acme": acme, "globex": globex} {
		st, err := b.State(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]barrier.BranchState{"acme": {Undo: "null"}, "globex": {Do: "done"}}[name]
		if st.Do != want.Do || st.Undo != want.Undo {
			t.Errorf("%s's state: %+v, want do %q, undo %q", name, st, want.Do, want.Undo)
		}
	}
	for name, call := range map[string]func() error{
		"do":    func() error { _, err := b.Do(t.Context(), br, f.fn); return err },
		"undo":  func() error { _, err := b.Undo(t.Context(), br, f.fn); return err },
		"state": func() error { _, err := b.State(t.Context(), br); return err },
	} {
		if err := call(); !errors.Is(err, tenant.ErrNoTenant) {
			t.Errorf("%s without a tenant: %v, want tenant.ErrNoTenant", name, err)
		}
	}
	if got := f.n.Load(); got != 1 {
		t.Errorf("fn ran %d times, want once (globex's do)", got)
	}
}

func TestBadInput(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	var nilCtx context.Context
	f := (&counter{}).fn
	huge := strings.Repeat("x", 10<<10)
	tests := []struct {
		name string
		call func() error
	}{
		{"do, empty branch", func() error { _, err := b.Do(t.Context(), "", f); return err }},
		{"undo, empty branch", func() error { _, err := b.Undo(t.Context(), "", f); return err }},
		{"do, 10 KB branch", func() error { _, err := b.Do(t.Context(), huge, f); return err }},
		{"undo, 10 KB branch", func() error { _, err := b.Undo(t.Context(), huge, f); return err }},
		{"do, invalid UTF-8", func() error { _, err := b.Do(t.Context(), "saga/\xff", f); return err }},
		{"do, nil fn", func() error { _, err := b.Do(t.Context(), branch("nil fn"), nil); return err }},
		{"undo, nil fn", func() error { _, err := b.Undo(t.Context(), branch("nil fn"), nil); return err }},
		{"do, nil context", func() error { _, err := b.Do(nilCtx, branch("nil ctx"), f); return err }},
		{"state, empty branch", func() error { _, err := b.State(t.Context(), ""); return err }},
		{"state, 10 KB branch", func() error { _, err := b.State(t.Context(), huge); return err }},
		{"state, nil context", func() error { _, err := b.State(nilCtx, "a/b"); return err }},
		{"sync, nil context", func() error { return b.Sync(nilCtx) }},
		{"new, nil DB", func() error { _, err := barrier.New(nil, barrier.Config{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg barrier.Config
		ok  bool
	}{
		{barrier.Config{}, true},
		{barrier.Config{Table: "b", Scope: orm.GlobalScope, InFlight: time.Second, Retain: time.Hour}, true},
		{barrier.Config{Table: "no such-table"}, false},
		{barrier.Config{Scope: orm.Scope(7)}, false},
		{barrier.Config{InFlight: -time.Second}, false},
		{barrier.Config{Retain: -time.Second}, false},
		{barrier.Config{InFlight: time.Hour, Retain: time.Minute}, false},
		{barrier.Config{Retain: orm.MaxTTL + time.Second}, false},
	}
	db, err := orm.Detached("ks")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v: Validate: %v, want ok %v", tt.cfg, err, tt.ok)
		}
		if _, nerr := barrier.New(db, tt.cfg); (nerr == nil) != tt.ok {
			t.Errorf("%+v: New: %v, want ok %v", tt.cfg, nerr, tt.ok)
		}
	}
}

func TestSplitKey(t *testing.T) {
	good := []struct {
		key, branch string
		op          barrier.Op
	}{
		{"s1/reserve/do", "s1/reserve", barrier.Do},
		{"s1/reserve/undo", "s1/reserve", barrier.Undo},
		{"s1/a/b/do", "s1/a/b", barrier.Do},
	}
	for _, tt := range good {
		br, op, err := barrier.SplitKey(tt.key)
		if br != tt.branch || op != tt.op || err != nil {
			t.Errorf("SplitKey(%q) = %q, %q, %v; want %q, %q", tt.key, br, op, err, tt.branch, tt.op)
		}
	}
	for _, key := range []string{
		"", "do", "/do", "s1/do", "s1//do", "/reserve/do", "s1/reserve/", "s1/reserve/DO", "s1/reserve/redo",
		"s1/reserve", "s1/reserve/do/", "s1/" + strings.Repeat("x", 10<<10) + "/do", "s1/\xff/do",
	} {
		br, op, err := barrier.SplitKey(key)
		if err == nil {
			t.Errorf("SplitKey(%.40q) = %q, %q; want an error", key, br, op)
			continue
		}
		named := strconv.Quote(key)
		if len(named) > 40 {
			named = named[:40]
		}
		if !strings.Contains(err.Error(), named) {
			t.Errorf("SplitKey(%.40q): error %q does not name the key", key, err)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[barrier.Outcome]string{
		barrier.Ran: "ran", barrier.Duplicate: "duplicate", barrier.NullCompensation: "null compensation",
		barrier.Skipped: "skipped", 0: "Outcome(0)", 9: "Outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestPanickingFnIsRecordedFailed(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	br := branch("panic")
	func() {
		defer func() {
			if r := recover(); r != "fn panics" {
				t.Errorf("recovered %v, want fn's panic", r)
			}
		}()
		_, _ = b.Do(t.Context(), br, func(context.Context) error { panic("fn panics") })
	}()
	st, err := b.State(t.Context(), br)
	if err != nil {
		t.Fatal(err)
	}
	if st.Do != "failed" {
		t.Errorf("state after fn panicked: %+v, want the do failed", st)
	}
	// The next call need not wait for the panicked run's deadline.
	f := &counter{}
	if out, err := b.Do(t.Context(), br, f.fn); out != barrier.Ran || err != nil || f.n.Load() != 1 {
		t.Errorf("do after a panic: %v, %v, fn ran %d times; want ran once", out, err, f.n.Load())
	}
}

// An fn error is returned wrapped, naming the branch, with no outcome.
func TestFnErrorIsWrapped(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	br := branch("wrapped")
	out, err := b.Do(t.Context(), br, func(context.Context) error { return errBoom })
	if out != 0 || !errors.Is(err, errBoom) || !strings.Contains(err.Error(), br) {
		t.Errorf("do whose fn fails: %v, %v; want no outcome and an error wrapping fn's, naming %q", out, err, br)
	}
}

// A run whose context has no deadline ends at Config.InFlight: fn's context ends
// then, and another call may take the branch over.
func TestInFlightBoundsARunWithoutDeadline(t *testing.T) {
	b := newBarrier(t, barrier.Config{InFlight: time.Second}, false)
	br := branch("no deadline")
	bl := startBlocked(t, context.Background(), b.Do, br)
	select {
	case <-bl.ctxDone:
	case <-t.Context().Done():
		t.Fatal("fn's context never ended")
	}
	if out, err := b.Do(t.Context(), br, (&counter{}).fn); out != barrier.Ran || err != nil {
		t.Errorf("do after the first run's InFlight passed: %v, %v; want ran", out, err)
	}
	if r := bl.finish(t); !errors.Is(r.err, barrier.ErrLost) {
		t.Errorf("the first run, finishing: %v, %v; want ErrLost", r.out, r.err)
	}
}
