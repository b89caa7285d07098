package barrier

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestDecide covers the state machine for every combination of phases that a
// branch's row can hold, with runs in flight and abandoned.
func TestDecide(t *testing.T) {
	now := time.Now()
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	type want struct {
		outcome           Outcome
		err               error
		take, null, fence bool
	}
	tests := []struct {
		name       string
		do, undo   Phase
		doDeadline time.Time
		unDeadline time.Time
		forDo      want
		forUndo    want
	}{
		{name: "nothing", forDo: want{take: true}, forUndo: want{take: true, null: true}},
		{name: "do in flight", do: phaseStarted, doDeadline: later,
			forDo: want{err: ErrInFlight}, forUndo: want{err: ErrInFlight}},
		{name: "do abandoned", do: phaseStarted, doDeadline: earlier,
			forDo: want{take: true}, forUndo: want{take: true, fence: true}},
		{name: "do done", do: phaseDone, forDo: want{outcome: Duplicate}, forUndo: want{take: true}},
		{name: "do failed", do: phaseFailed, forDo: want{take: true}, forUndo: want{take: true}},
		{name: "null compensation", undo: phaseNull,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{outcome: Duplicate}},
		{name: "undo in flight", do: phaseDone, undo: phaseStarted, unDeadline: later,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{err: ErrInFlight}},
		{name: "undo abandoned", do: phaseDone, undo: phaseStarted, unDeadline: earlier,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{take: true}},
		{name: "undo failed", do: phaseDone, undo: phaseFailed,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{take: true}},
		{name: "undo done", do: phaseDone, undo: phaseDone,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{outcome: Duplicate}},
		{name: "fenced do, undo done", do: phaseFailed, undo: phaseDone,
			forDo: want{outcome: Skipped, err: ErrCompensated}, forUndo: want{outcome: Duplicate}},
	}
	for _, tt := range tests {
		cur := row{DoPhase: string(tt.do), DoDeadline: tt.doDeadline, UndoPhase: string(tt.undo), UndoDeadline: tt.unDeadline}
		for op, w := range map[Op]want{Do: tt.forDo, Undo: tt.forUndo} {
			s := decide(op, &cur, now)
			got := want(s)
			if got != w {
				t.Errorf("%s, %s: %+v, want %+v", tt.name, op, got, w)
			}
		}
	}
}

// TestSettleConflict: a take that conflicts goes on from the row the conflict
// carries, or from no row when it carries none (the row expired); an error that is
// neither a conflict nor an unknown outcome is returned naming the table and branch.
func TestSettleConflict(t *testing.T) {
	db, err := orm.Detached("ks")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	token := orm.NewUUID()
	held := &row{DoPhase: "started", DoToken: orm.NewUUID()}
	for _, tt := range []struct {
		current any
		want    row
	}{
		{held, row{Branch: "s/x", DoPhase: "started", DoToken: held.DoToken}},
		{nil, row{Branch: "s/x"}},
	} {
		cur, mine, err := b.settle(t.Context(), Do, "s/x", token, &orm.ConflictError{Table: "saga_barrier", Current: tt.current})
		if err != nil || mine || cur != tt.want {
			t.Errorf("conflict with %v: %+v, %v, %v; want %+v, not mine", tt.current, cur, mine, err, tt.want)
		}
	}
	_, _, err = b.settle(t.Context(), Do, "s/x", token, fmt.Errorf("refused: %w", orm.ErrUnavailable))
	if !errors.Is(err, orm.ErrUnavailable) || !containsAll(err.Error(), "saga_barrier", "s/x") {
		t.Errorf("settle of a refusal: %v, want it wrapped, naming table and branch", err)
	}
	// An unknown outcome is read back; here the read fails (the DB is detached), and
	// both errors are returned.
	_, _, err = b.settle(t.Context(), Do, "s/x", token, fmt.Errorf("timeout: %w", orm.ErrUncertain))
	if !errors.Is(err, orm.ErrUncertain) || !errors.Is(err, orm.ErrDetached) {
		t.Errorf("settle of an unknown outcome whose read fails: %v, want both errors", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
