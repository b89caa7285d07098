package barrier_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// fate is what happens to one lightweight transaction of the barrier.
type fate int

const (
	answered    fate = iota // sent, and answered as usual
	answerLost              // sent and applied, its answer lost
	requestLost             // never sent
	late                    // not sent now: it lands just before the branch's next transaction, after the settle read
)

// errAnswerLost is what a transaction whose answer or request is lost returns.
var errAnswerLost = fmt.Errorf("barrier test: the answer was lost: %w", orm.ErrUncertain)

// errReadLost is the error of a settle read that FailSettles makes fail.
var errReadLost = fmt.Errorf("barrier test: the serial read was lost: %w", orm.ErrTimeout)

// branchPlan says what happens to a branch's transactions: the n-th (from 0) as
// fates(n) says; and the first failReads settle reads fail.
type branchPlan struct {
	fates     func(n int) fate
	failReads int

	sent, lost, reads int          // counted so far
	held              func() error // a late transaction, not sent yet
	lateErr           error        // what the late transaction got when it landed
}

// losses holds the plans of a barrier's branches; a branch without one loses
// nothing.
type losses struct {
	mu    sync.Mutex
	plans map[string]*branchPlan
}

// loseOn makes b lose answers and fail settle reads as the plans say.
func loseOn(b *barrier.Barrier) *losses {
	l := &losses{plans: map[string]*branchPlan{}}
	barrier.LoseAnswers(b, func(branch string, send func() error) error {
		l.mu.Lock()
		p := l.plans[branch]
		if p == nil {
			l.mu.Unlock()
			return send()
		}
		f := p.fates(p.sent)
		p.sent++
		held := p.held
		p.held = nil
		if f == late {
			p.held = send
		}
		l.mu.Unlock()
		if held != nil {
			err := held()
			l.mu.Lock()
			p.lateErr = err
			l.mu.Unlock()
		}
		if f == answered {
			return send()
		}
		if f == answerLost {
			if err := send(); err != nil {
				return err // refused: a conflict is an answer, not lost
			}
		}
		l.mu.Lock()
		p.lost++
		l.mu.Unlock()
		return errAnswerLost
	})
	barrier.FailSettles(b, func(branch string) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		p := l.plans[branch]
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
	return l
}

// set gives branch plan p, counting from zero.
func (l *losses) set(branch string, p *branchPlan) {
	l.mu.Lock()
	l.plans[branch] = p
	l.mu.Unlock()
}

// end drops branch's plan and returns how many of its transactions were lost,
// how many settle reads were tried, and the error of a late transaction that
// landed.
func (l *losses) end(branch string) (lost, reads int, lateErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.plans[branch]
	delete(l.plans, branch)
	return p.lost, p.reads, p.lateErr
}

// at loses the transactions numbered in fs as they say, and answers the others.
func at(fs map[int]fate) func(int) fate { return func(n int) fate { return fs[n] } }

// every loses every transaction as f says.
func every(f fate) func(int) fate { return func(int) fate { return f } }

// then is a call after the one under test, losing nothing; wait makes it retry
// while the branch is in flight (the lost call's run must pass its deadline).
type then struct {
	op   barrier.Op
	want barrier.Outcome
	err  error
	runs int32 // how often its fn runs
	wait bool
}

// callDeadline bounds the call under test, and so the run it takes: a run whose
// outcome stays unknown is taken over once it has passed.
const callDeadline = 3 * time.Second

// lossTest is one call under test: the calls that come first (losing nothing),
// the call with its transactions lost as fates says, what it must give, and the
// calls after it.
type lossTest struct {
	name      string
	setup     []barrier.Op
	op        barrier.Op
	fates     func(int) fate
	failReads int
	want      barrier.Outcome
	wantErr   error // errors.Is; nil for none
	runs      int32 // how often the call's fn runs
	state     barrier.BranchState
	then      []then
}

// ops returns b's Do or Undo.
func ops(b *barrier.Barrier, op barrier.Op) func(context.Context, string, func(context.Context) error) (barrier.Outcome, error) {
	if op == barrier.Undo {
		return b.Undo
	}
	return b.Do
}

// check runs tt on a new branch of b, whose losses are l, and returns the branch,
// the settle reads the call under test tried and its error.
func (tt *lossTest) check(t *testing.T, b *barrier.Barrier, l *losses) (br string, reads int, _ error) {
	t.Helper()
	br = branch(strings.ReplaceAll(tt.name, " ", "_"))
	for _, op := range tt.setup {
		if _, err := ops(b, op)(t.Context(), br, (&counter{}).fn); err != nil {
			t.Fatalf("branch %s: setup %s: %v", br, op, err)
		}
	}
	l.set(br, &branchPlan{fates: tt.fates, failReads: tt.failReads})
	ctx, cancel := context.WithTimeout(t.Context(), callDeadline)
	defer cancel()
	f := &counter{}
	out, err := ops(b, tt.op)(ctx, br, f.fn)
	if out != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) || f.n.Load() != tt.runs {
		t.Fatalf("branch %s: %s: %v, %v, fn ran %d times; want %v, %v, %d runs", br, tt.op, out, err, f.n.Load(), tt.want, tt.wantErr, tt.runs)
	}
	if err != nil && !strings.Contains(err.Error(), br) {
		t.Errorf("branch %s: %s: error %q does not name the branch", br, tt.op, err)
	}
	lost, reads, lateErr := l.end(br)
	if lost == 0 {
		t.Fatalf("branch %s: %s: no transaction was lost", br, tt.op)
	}
	if lateErr != nil {
		t.Fatalf("branch %s: %s: the late transaction, landing: %v", br, tt.op, lateErr)
	}
	st, serr := b.State(t.Context(), br)
	if serr != nil {
		t.Fatalf("branch %s: state: %v", br, serr)
	}
	if st.Do != tt.state.Do || st.Undo != tt.state.Undo {
		t.Errorf("branch %s: state after the %s: do %q, undo %q; want %q, %q", br, tt.op, st.Do, st.Undo, tt.state.Do, tt.state.Undo)
	}
	for i, c := range tt.then {
		f := &counter{}
		var out barrier.Outcome
		var err error
		call := func() error {
			out, err = ops(b, c.op)(t.Context(), br, f.fn)
			if c.wait && errors.Is(err, barrier.ErrInFlight) {
				return err
			}
			return nil
		}
		if c.wait {
			testenv.WaitFor(t, 4*callDeadline, call)
		} else {
			_ = call()
		}
		if out != c.want || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) || f.n.Load() != c.runs {
			t.Errorf("branch %s: call %d after it (%s): %v, %v, fn ran %d times; want %v, %v, %d runs", br, i, c.op, out, err, f.n.Load(), c.want, c.err, c.runs)
		}
	}
	return br, reads, err
}

// A Do or Undo whose transactions' answers are lost, applied or not, settles
// each by a serial read and gives what it would have given: the outcome the
// barrier's table promises, fn run once where it runs, and the state recorded.
func TestLostAnswers(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	l := loseOn(b)
	do, undo := barrier.Do, barrier.Undo
	done := barrier.BranchState{Do: "done"}
	undone := barrier.BranchState{Do: "done", Undo: "done"}
	null := barrier.BranchState{Undo: "null"}
	skipped := then{op: do, want: barrier.Skipped, err: barrier.ErrCompensated}
	tests := []lossTest{
		// A call's first transaction takes the branch as if it had no row, and the
		// next records the end of its run; on a branch that has a row, the first
		// conflicts and hands the row back, the second takes the branch, the third
		// records the end.
		{name: "do, take's answer lost", op: do, fates: at(map[int]fate{0: answerLost}), want: barrier.Ran, runs: 1, state: done,
			then: []then{{op: do, want: barrier.Duplicate}}},
		{name: "do, take's request lost", op: do, fates: at(map[int]fate{0: requestLost}), want: barrier.Ran, runs: 1, state: done},
		{name: "do, end's answer lost", op: do, fates: at(map[int]fate{1: answerLost}), want: barrier.Ran, runs: 1, state: done,
			then: []then{{op: do, want: barrier.Duplicate}}},
		{name: "do, end's request lost", op: do, fates: at(map[int]fate{1: requestLost}), want: barrier.Ran, runs: 1, state: done},
		{name: "do, every answer lost", op: do, fates: every(answerLost), want: barrier.Ran, runs: 1, state: done,
			then: []then{{op: do, want: barrier.Duplicate}}},
		{name: "undo, take's answer lost", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{1: answerLost}), want: barrier.Ran, runs: 1,
			state: undone, then: []then{{op: undo, want: barrier.Duplicate}, skipped}},
		{name: "undo, take's request lost", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{1: requestLost}), want: barrier.Ran, runs: 1, state: undone},
		{name: "undo, end's answer lost", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{2: answerLost}), want: barrier.Ran, runs: 1, state: undone},
		{name: "undo, end's request lost", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{2: requestLost}), want: barrier.Ran, runs: 1, state: undone},
		{name: "undo, every answer lost", setup: []barrier.Op{do}, op: undo, fates: every(answerLost), want: barrier.Ran, runs: 1, state: undone},
		{name: "null compensation, answer lost", op: undo, fates: every(answerLost), want: barrier.NullCompensation, state: null,
			then: []then{{op: undo, want: barrier.Duplicate}, skipped}},
		{name: "null compensation, request lost", op: undo, fates: at(map[int]fate{0: requestLost}), want: barrier.NullCompensation, state: null,
			then: []then{skipped}},
		{name: "duplicate do, request lost", setup: []barrier.Op{do}, op: do, fates: at(map[int]fate{0: requestLost}), want: barrier.Duplicate, state: done},
		{name: "duplicate undo, request lost", setup: []barrier.Op{do, undo}, op: undo, fates: at(map[int]fate{0: requestLost}), want: barrier.Duplicate, state: undone},
		{name: "do after its undo, request lost", setup: []barrier.Op{undo}, op: do, fates: at(map[int]fate{0: requestLost}),
			want: barrier.Skipped, wantErr: barrier.ErrCompensated, state: null},
		// The take lands after the serial read that found it missing: the call
		// takes again, finds the branch taken by a run nobody runs, and says it is
		// in flight; once that run's deadline has passed the next call takes over.
		{name: "do, take lands late", op: do, fates: at(map[int]fate{0: late}), wantErr: barrier.ErrInFlight, state: barrier.BranchState{Do: "started"},
			then: []then{{op: do, want: barrier.Ran, runs: 1, wait: true}, {op: do, want: barrier.Duplicate}}},
		{name: "undo, take lands late", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{1: late}), wantErr: barrier.ErrInFlight,
			state: barrier.BranchState{Do: "done", Undo: "started"}, then: []then{skipped, {op: undo, want: barrier.Ran, runs: 1, wait: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a late take waits out its run's deadline
			tt.check(t, b, l)
		})
	}
}

// A transaction whose answer is lost and whose settling serial read fails too:
// the call cannot know what happened, and says so, with an error matching
// orm.ErrUncertain and the read's error, and no outcome; the branch goes on from
// whatever the table holds.
func TestSettleReadFails(t *testing.T) {
	b := newBarrier(t, barrier.Config{}, false)
	l := loseOn(b)
	do, undo := barrier.Do, barrier.Undo
	tests := []lossTest{
		// The take applied: its run never ran, and is taken over after its deadline.
		{name: "do, take's answer lost", op: do, fates: at(map[int]fate{0: answerLost}), state: barrier.BranchState{Do: "started"},
			then: []then{{op: do, want: barrier.Ran, runs: 1, wait: true}}},
		// The take did not apply: the next call takes the branch at once.
		{name: "do, take's request lost", op: do, fates: at(map[int]fate{0: requestLost}),
			then: []then{{op: do, want: barrier.Ran, runs: 1}}},
		// fn ran, and its end was recorded: the next call is a duplicate.
		{name: "do, end's answer lost", op: do, fates: at(map[int]fate{1: answerLost}), runs: 1, state: barrier.BranchState{Do: "done"},
			then: []then{{op: do, want: barrier.Duplicate}}},
		// fn ran and its end was not recorded: it runs again after the deadline (fn
		// is idempotent by the barrier's contract).
		{name: "do, end's request lost", op: do, fates: at(map[int]fate{1: requestLost}), runs: 1, state: barrier.BranchState{Do: "started"},
			then: []then{{op: do, want: barrier.Ran, runs: 1, wait: true}}},
		{name: "null compensation, answer lost", op: undo, fates: at(map[int]fate{0: answerLost}), state: barrier.BranchState{Undo: "null"},
			then: []then{{op: undo, want: barrier.Duplicate}, {op: do, want: barrier.Skipped, err: barrier.ErrCompensated}}},
		{name: "undo, take's answer lost", setup: []barrier.Op{do}, op: undo, fates: at(map[int]fate{1: answerLost}),
			state: barrier.BranchState{Do: "done", Undo: "started"}, then: []then{{op: undo, want: barrier.Ran, runs: 1, wait: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // some wait out a run's deadline
			tt.failReads, tt.wantErr = 1, orm.ErrUncertain
			br, reads, err := tt.check(t, b, l)
			if !errors.Is(err, errReadLost) || errors.Is(err, barrier.ErrInFlight) || errors.Is(err, barrier.ErrLost) || errors.Is(err, barrier.ErrCompensated) {
				t.Errorf("branch %s: %s: %v; want an error wrapping the lost answer and the failed read, and no other barrier error", br, tt.op, err)
			}
			if reads != 1 {
				t.Errorf("branch %s: %s: %d settle reads tried, want 1", br, tt.op, reads)
			}
		})
	}
}

// A take whose caller's context ends while it is in flight (the caller died or
// gave up) and which applied is still read back and given back at once: the next
// call takes the branch without waiting for the abandoned run's deadline, and fn
// never runs for the caller that is gone.
func TestTakeOfACallerGone(t *testing.T) {
	for _, op := range []barrier.Op{barrier.Do, barrier.Undo} {
		t.Run(string(op), func(t *testing.T) {
			b := newBarrier(t, barrier.Config{InFlight: time.Minute}, false)
			branch := fmt.Sprintf("gone-%s/%s", orm.NewUUID().String()[:8], op)
			ctx, cancel := context.WithCancel(t.Context())
			first := op == barrier.Do // for an undo, once the do below has failed
			barrier.LoseAnswers(b, func(br string, send func() error) error {
				if br != branch || !first {
					return send()
				}
				first = false
				err := send() // it applies; then the caller goes away
				cancel()
				if err != nil {
					return err
				}
				return fmt.Errorf("barrier test: %w: %w", orm.ErrUncertain, context.Canceled)
			})
			call := func(ctx context.Context, fn func(context.Context) error) (barrier.Outcome, error) {
				if op == barrier.Do {
					return b.Do(ctx, branch, fn)
				}
				return b.Undo(ctx, branch, fn)
			}
			if op == barrier.Undo { // an undo before any do is a null compensation, not a run
				if _, err := b.Do(t.Context(), branch, func(context.Context) error { return errors.New("do failed") }); err == nil {
					t.Fatal("the do that fails succeeded")
				}
				first = true
			}
			ran := 0
			fn := func(context.Context) error { ran++; return nil }
			if _, err := call(ctx, fn); !errors.Is(err, context.Canceled) || first {
				t.Fatalf("%s %s whose caller went away: %v, want an error matching context.Canceled", op, branch, err)
			}
			if ran != 0 {
				t.Fatalf("%s %s: fn ran %d times for a caller that was gone", op, branch, ran)
			}
			out, err := call(t.Context(), fn)
			if err != nil || out != barrier.Ran || ran != 1 {
				t.Fatalf("%s %s after the caller went away: %v, %v, fn ran %d times; want Ran at once, fn once", op, branch, out, err, ran)
			}
		})
	}
}
