package saga

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// advance moves saga r (of this flow, in shard sh) until it waits for a time, ends,
// or its shard is lost. Every transition is one conditional write; one refused
// because the saga moved on is followed by a serial read and a new decision.
func (f *Flow[S]) advance(ctx context.Context, w *worker, sh *shard, k sagaKey, r *runRow) error {
	for {
		if !sh.held.Valid() {
			return fmt.Errorf("saga %s: shard %d: %w", r.ID, sh.n, sh.held.Err())
		}
		if Status(r.Status).Final() {
			w.o.ended(r.ID)
			return nil
		}
		now := time.Now()
		next, entries, run := f.decide(r, sh.held.Token(), now)
		if next == nil {
			w.later(k, fromMS(r.WakeAt))
			return nil
		}
		if next.WakeAt > ms(now) {
			// A durable timer for the time the saga next needs a worker, written before
			// the state that needs it.
			if err := w.o.schedule(ctx, k.tenant, r.ID, fromMS(next.WakeAt)); err != nil {
				return err
			}
		}
		if err := w.o.write(ctx, r, next, entries); err != nil {
			if !errors.Is(err, errStale) {
				return err
			}
			if r, err = w.o.load(ctx, r.ID, true); err != nil {
				return err
			}
			continue
		}
		f.report(ctx, k, next, entries)
		r = next
		for run {
			var err error
			if r, run, err = f.attempt(ctx, w, sh, k, r); r == nil {
				return err
			}
		}
	}
}

// decide returns the transition saga r needs at now, its history entries, and
// whether it starts an attempt to run; nil when nothing is due before r.WakeAt.
func (f *Flow[S]) decide(r *runRow, token string, now time.Time) (*runRow, []entry, bool) {
	n := *r
	n.Ran = slices.Clone(r.Ran)
	n.Version++
	var es []entry
	if r.Owner != token {
		n.Owner, n.Epoch = token, r.Epoch+1
		if r.Owner != "" {
			es = append(es, entry{event: "taken_over", err: "previous owner " + r.Owner})
		}
	}
	step := int(r.Step)
	dir := Direction(r.Dir)
	switch {
	case r.InFlight > 0 && ms(now) < r.InFlight:
		// An attempt is in flight, here or in a process that may only be paused: it
		// counts as running until its deadline.
		return nil, nil, false
	case r.InFlight > 0:
		es = append(es, entry{event: "timed_out", step: f.stepName(step), dir: dir, attempt: r.Attempt, err: ErrStepTimeout.Error()})
		f.failed(&n, ErrStepTimeout, now, &es)
		return &n, es, false
	case r.WakeAt > ms(now):
		return nil, nil, false
	}
	switch Status(r.Status) {
	case Running:
		if r.Deadline > 0 && ms(now) >= r.Deadline {
			f.compensate(&n, ErrSagaTimeout.Error(), now, &es)
			return &n, es, false
		}
		f.start(&n, now, &es)
		return &n, es, true
	case Compensating:
		if len(n.Ran) == 0 {
			n.Status, n.WakeAt, n.Attempt = string(Compensated), 0, 0
			es = append(es, entry{event: "compensated"})
			return &n, es, false
		}
		last := slices.Max(n.Ran)
		if int(last) >= len(f.def.Steps) || f.def.Steps[last].Compensate == nil {
			n.Ran = slices.DeleteFunc(n.Ran, func(s int32) bool { return s == last })
			n.Step, n.Attempt, n.WakeAt = last, 0, ms(now)
			es = append(es, entry{event: "skipped", step: f.stepName(int(last)), dir: Undo})
			return &n, es, false
		}
		if n.Step != last {
			n.Step, n.Attempt = last, 0
		}
		f.start(&n, now, &es)
		return &n, es, true
	}
	return nil, nil, false
}

// start makes n start the next attempt of its step in its direction.
func (f *Flow[S]) start(n *runRow, now time.Time, es *[]entry) {
	s := f.def.Steps[n.Step]
	n.Attempt++
	deadline := now.Add(s.Timeout)
	if Direction(n.Dir) == Do && n.Deadline > 0 && fromMS(n.Deadline).Before(deadline) {
		deadline = fromMS(n.Deadline)
	}
	n.InFlight, n.WakeAt = ms(deadline), ms(deadline)
	*es = append(*es, entry{event: "attempt", step: s.Name, dir: Direction(n.Dir), attempt: n.Attempt})
}

// compensate turns n to compensation for reason.
func (f *Flow[S]) compensate(n *runRow, reason string, now time.Time, es *[]entry) {
	n.Status, n.Dir, n.Attempt, n.InFlight, n.WakeAt, n.Reason = string(Compensating), string(Undo), 0, 0, ms(now), reason
	*es = append(*es, entry{event: "compensating", err: reason})
}

// failed records on n that the attempt in flight failed with err: a retry after the
// policy's backoff, compensation once the retries are spent, or, for a
// compensation, parking.
func (f *Flow[S]) failed(n *runRow, err error, now time.Time, es *[]entry) {
	s := f.def.Steps[n.Step]
	n.InFlight = 0
	if Direction(n.Dir) == Do {
		if !IsPermanent(err) && !slices.Contains(n.Ran, n.Step) {
			n.Ran = append(n.Ran, n.Step) // it may have had an effect
		}
		p := withDo(s.Retry)
		if !IsPermanent(err) && p.If(err) && int(n.Attempt) < p.MaxAttempts {
			n.WakeAt = ms(now.Add(p.Backoff.Delay(int(n.Attempt) - 1)))
			if n.Deadline > 0 {
				n.WakeAt = min(n.WakeAt, n.Deadline)
			}
			return
		}
		f.compensate(n, fmt.Sprintf("step %s: %v", s.Name, err), now, es)
		return
	}
	p := withUndo(s.CompensateRetry)
	if p.If(err) && int(n.Attempt) < p.MaxAttempts {
		n.WakeAt = ms(now.Add(p.Backoff.Delay(int(n.Attempt) - 1)))
		return
	}
	n.Status, n.WakeAt = string(CompensationFailed), 0
	n.Reason = fmt.Sprintf("compensation of step %s failed %d times, last: %v", s.Name, n.Attempt, err)
	*es = append(*es, entry{event: "parked", step: s.Name, dir: Undo, attempt: n.Attempt, err: n.Reason})
}

// attempt runs the attempt r has just started and stores its outcome; a step that
// succeeded and has a next one starts that one's first attempt in the same write,
// and attempt then reports run. It returns the saga as stored after it, or nil when
// this worker cannot go on with it (its shard was lost, or the outcome could not be
// stored: the attempt's timer brings it back).
func (f *Flow[S]) attempt(ctx context.Context, w *worker, sh *shard, k sagaKey, r *runRow) (*runRow, bool, error) {
	s := f.def.Steps[r.Step]
	dir := Direction(r.Dir)
	fn := s.Action
	if dir == Undo {
		fn = s.Compensate
	}
	state, err := f.def.Codec.Decode(int(r.Codec), r.Data)
	if err != nil {
		err = Permanent(fmt.Errorf("saga %s %s: decoding its state: %w", r.Name, r.ID, err))
	}
	started := time.Now()
	if err == nil {
		actx, cancel := context.WithDeadline(ctx, fromMS(r.InFlight))
		actx = withKey(actx, Key{Saga: r.ID, Step: s.Name, Direction: dir, Attempt: int(r.Attempt)})
		err = call(actx, fn, &state)
		cancel()
	}
	took := time.Since(started)
	now := time.Now()
	if !sh.held.Valid() {
		return nil, false, sh.held.Err()
	}
	n := *r
	n.Ran = slices.Clone(r.Ran)
	n.Version++
	var es []entry
	run := false
	if err == nil {
		data, eerr := f.def.Codec.Encode(state)
		if eerr != nil {
			err = Permanent(fmt.Errorf("saga %s %s: encoding its state: %w", r.Name, r.ID, eerr))
		} else {
			n.Data, n.Codec = data, int32(f.def.Codec.Version())
		}
	}
	if err != nil {
		es = append(es, entry{event: "failed", step: s.Name, dir: dir, attempt: r.Attempt, took: took, err: err.Error()})
		f.failed(&n, err, now, &es)
	} else {
		es = append(es, entry{event: "succeeded", step: s.Name, dir: dir, attempt: r.Attempt, took: took})
		n.InFlight, n.Attempt, n.WakeAt = 0, 0, ms(now)
		if dir == Do {
			if !slices.Contains(n.Ran, n.Step) {
				n.Ran = append(n.Ran, n.Step)
			}
			n.Step++
			switch {
			case int(n.Step) == len(f.def.Steps):
				n.Step, n.Status, n.WakeAt = 0, string(Completed), 0
				es = append(es, entry{event: "completed"})
			case n.Deadline == 0 || ms(now) < n.Deadline:
				f.start(&n, now, &es)
				run = true
			}
		} else {
			n.Ran = slices.DeleteFunc(n.Ran, func(x int32) bool { return x == r.Step })
		}
	}
	if n.WakeAt > ms(now) {
		if serr := w.o.schedule(ctx, k.tenant, r.ID, fromMS(n.WakeAt)); serr != nil {
			return nil, false, serr // the attempt's own timer brings the saga back
		}
	}
	if werr := w.o.write(ctx, r, &n, es); werr != nil {
		if errors.Is(werr, errStale) {
			cur, lerr := w.o.load(ctx, r.ID, true)
			return cur, false, lerr
		}
		return nil, false, werr
	}
	f.report(ctx, k, &n, es)
	return &n, run, nil
}

// call runs fn, turning a panic into an error.
func call[S any](ctx context.Context, fn func(context.Context, *S) error, s *S) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, s)
}

// report tells the observer about a stored transition.
func (f *Flow[S]) report(ctx context.Context, k sagaKey, n *runRow, es []entry) {
	for _, e := range es {
		ev := Event{Kind: e.event, Saga: n.ID, Name: n.Name, Tenant: k.tenant, Step: e.step, Direction: e.dir,
			Attempt: int(e.attempt), Took: e.took}
		if e.err != "" {
			ev.Err = errors.New(e.err)
		}
		f.o.observe(ctx, ev)
	}
	if Status(n.Status).Final() {
		f.o.ended(n.ID)
	}
}

func (f *Flow[S]) stepName(i int) string {
	if i >= 0 && i < len(f.def.Steps) {
		return f.def.Steps[i].Name
	}
	return fmt.Sprintf("#%d", i)
}
