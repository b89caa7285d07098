package saga

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// runRow is a saga's partition: static columns hold its current state, and one
// clustering row per history entry, keyed by the version of the transition that
// wrote it and the entry's place in that transition. A transition is one
// conditional batch on this partition.
type runRow struct {
	ID  string `cql:"saga_id" orm:"pk"`
	Seq int64  `cql:"seq" orm:"ck"`
	N   int32  `cql:"n" orm:"ck"`

	Name     string   `cql:"name" orm:"static"`
	Steps    []string `cql:"steps" orm:"static"`
	Status   string   `cql:"status" orm:"static"`
	Version  int64    `cql:"version" orm:"static"`
	Epoch    int64    `cql:"epoch" orm:"static"`
	Owner    string   `cql:"owner" orm:"static"`
	Step     int32    `cql:"step" orm:"static"`
	Dir      string   `cql:"direction" orm:"static"`
	Attempt  int32    `cql:"attempt" orm:"static"`
	InFlight int64    `cql:"in_flight_until_ms" orm:"static"`
	WakeAt   int64    `cql:"wake_at_ms" orm:"static"`
	Deadline int64    `cql:"deadline_ms" orm:"static"`
	Ran      []int32  `cql:"ran" orm:"static,set"`
	Data     []byte   `cql:"data" orm:"static"`
	Codec    int32    `cql:"codec" orm:"static"`
	Reason   string   `cql:"reason" orm:"static"`
	Created  int64    `cql:"created_ms" orm:"static"`
	Updated  int64    `cql:"updated_ms" orm:"static"`

	Event    string    `cql:"event"`
	LStep    string    `cql:"entry_step"`
	LDir     string    `cql:"entry_direction"`
	LAttempt int32     `cql:"entry_attempt"`
	At       time.Time `cql:"at"`
	TookUS   int64     `cql:"took_us"`
	LErr     string    `cql:"entry_error"`
	LOwner   string    `cql:"entry_owner"`
	Tx       string    `cql:"tx"`
}

// Status is where a saga is.
type Status string

// A saga's statuses. Completed, Compensated and CompensationFailed are final.
const (
	Running            Status = "running"
	Compensating       Status = "compensating"
	Completed          Status = "completed"
	Compensated        Status = "compensated"
	CompensationFailed Status = "compensation_failed"
)

// Final reports whether a saga in status s has ended.
func (s Status) Final() bool { return s == Completed || s == Compensated || s == CompensationFailed }

// Info is a saga's stored state, without decoding its data.
type Info struct {
	ID, Name string
	// Tenant is the tenant the saga runs for ("" on a DB without tenancy).
	Tenant string
	Status Status
	// Step is the step the saga is at (running or compensating), "" once final.
	Step string
	// Direction is Do while running, Undo while compensating.
	Direction Direction
	// Attempt counts the attempts of Step in Direction; InFlightUntil is the deadline
	// of the one in flight, zero when none is.
	Attempt       int
	InFlightUntil time.Time
	// WakeAt is when the saga next needs a worker (a retry's time, an attempt's
	// deadline); zero once final.
	WakeAt time.Time
	// Deadline is the saga's own deadline, zero when it has none.
	Deadline time.Time
	// Version counts the saga's transitions; Epoch counts its changes of worker, and
	// Owner is the lease token of the worker that wrote it last.
	Version, Epoch int64
	Owner          string
	// Ran lists the steps whose effects may exist and that are not compensated yet.
	Ran []string
	// Reason is the error that started compensation, or that parked it.
	Reason string
	// Data is the encoded state; CodecVersion its codec's version.
	Data         []byte
	CodecVersion int

	CreatedAt, UpdatedAt time.Time
}

// Entry is one entry of a saga's history.
type Entry struct {
	// Version is the transition that wrote it.
	Version int64
	At      time.Time
	// Event says what happened: started, attempt, succeeded, failed, timed_out,
	// compensating, skipped (a step with nothing to undo), completed, compensated,
	// parked, taken_over.
	Event     string
	Step      string
	Direction Direction
	Attempt   int
	// Took is how long the attempt ran, for succeeded and failed.
	Took  time.Duration
	Error string
	// Owner is the lease token of the worker that wrote it.
	Owner string
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// info converts the static part of r.
func (r *runRow) info(tenant string) Info {
	steps := r.Steps
	name := func(i int32) string {
		if int(i) < len(steps) && i >= 0 {
			return steps[i]
		}
		return fmt.Sprintf("#%d", i)
	}
	in := Info{ID: r.ID, Name: r.Name, Tenant: tenant, Status: Status(r.Status), Direction: Direction(r.Dir),
		Attempt: int(r.Attempt), InFlightUntil: fromMS(r.InFlight), WakeAt: fromMS(r.WakeAt), Deadline: fromMS(r.Deadline),
		Version: r.Version, Epoch: r.Epoch, Owner: r.Owner, Reason: r.Reason, Data: r.Data, CodecVersion: int(r.Codec),
		CreatedAt: fromMS(r.Created), UpdatedAt: fromMS(r.Updated)}
	if !in.Status.Final() {
		in.Step = name(r.Step)
	}
	for _, s := range r.sortedRan() {
		in.Ran = append(in.Ran, name(s))
	}
	return in
}

func (r *runRow) sortedRan() []int32 {
	s := slices.Clone(r.Ran)
	slices.Sort(s)
	return s
}

// entry is a history entry to write with a transition.
type entry struct {
	event   string
	step    string
	dir     Direction
	attempt int32
	took    time.Duration
	err     string
}

// load reads the saga's current state; serial reads see every applied transition,
// including one whose writer is still waiting for its answer.
func (o *Orchestrator) load(ctx context.Context, id string, serial bool) (*runRow, error) {
	q := o.runs.Query().Where(orm.Eq("saga_id", id)).Limit(1)
	if serial {
		q = q.With(orm.WithConsistency(orm.Serial))
	}
	r, err := q.One(ctx)
	if errors.Is(err, orm.ErrNotFound) || (err == nil && r.Version == 0) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("saga: reading saga %s: %w", id, err)
	}
	return &r, nil
}

// ListFilter selects the sagas List returns; its zero value selects all.
type ListFilter struct {
	// Name and Status, when set, keep only the sagas of that definition and status.
	Name   string
	Status Status
	// Limit caps the sagas returned; zero means 100.
	Limit int
}

// List returns the sagas of ctx's tenant that match filter, in no particular order.
// It scans the saga table (one row per saga, filtered on the server by tenant and
// by the coordinator here): an operator's tool, not for request paths.
func (o *Orchestrator) List(ctx context.Context, filter ListFilter) ([]Info, error) {
	tid, err := o.tenantOf(ctx)
	if err != nil {
		return nil, fmt.Errorf("saga: list: %w", err)
	}
	limit := filter.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Info
	q := o.runs.Query().PerPartitionLimit(1).AllowFiltering()
	for r, err := range q.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("saga: list: %w", err)
		}
		if r.Version == 0 || filter.Name != "" && r.Name != filter.Name || filter.Status != "" && Status(r.Status) != filter.Status {
			continue
		}
		out = append(out, r.info(tid))
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// history reads every entry of saga id in order.
func (o *Orchestrator) history(ctx context.Context, id string) ([]Entry, error) {
	var out []Entry
	for r, err := range o.runs.Query().Where(orm.Eq("saga_id", id)).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("saga: reading the history of %s: %w", id, err)
		}
		if r.Event == "" {
			continue
		}
		out = append(out, Entry{Version: r.Seq, At: r.At, Event: r.Event, Step: r.LStep, Direction: Direction(r.LDir),
			Attempt: int(r.LAttempt), Took: time.Duration(r.TookUS) * time.Microsecond, Error: r.LErr, Owner: r.LOwner})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return out, nil
}

// errStale says a transition was refused: the saga moved on (another worker, or a
// takeover). The caller reloads and decides again.
var errStale = errors.New("saga: state moved on")

// write applies the transition from cur (as read) to next, with its history
// entries, as one conditional batch fenced by cur's version and epoch. next.Version
// must be cur.Version+1. An outcome the server did not report is resolved by a
// serial read of the transition's first entry, never by sending it again: nil means
// it applied, errStale that it did not, and any other error that it is still
// unknown.
func (o *Orchestrator) write(ctx context.Context, cur, next *runRow, entries []entry) error {
	tx := orm.NewUUID().String()
	now := time.Now()
	next.Updated = ms(now)
	b := o.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	w := o.runs.Batch(b)
	err := w.PatchIf(ctx, []any{cur.ID}, []orm.Predicate{orm.Eq("version", cur.Version), orm.Eq("epoch", cur.Epoch)}, next.statics())
	for i, e := range entries {
		if err != nil {
			break
		}
		err = w.Patch(ctx, []any{cur.ID, next.Version, int32(i)}, []orm.Change{
			orm.Set("event", e.event), orm.Set("entry_step", e.step), orm.Set("entry_direction", string(e.dir)),
			orm.Set("entry_attempt", e.attempt), orm.Set("at", now), orm.Set("took_us", e.took.Microseconds()),
			orm.Set("entry_error", e.err), orm.Set("entry_owner", next.Owner), orm.Set("tx", tx)})
	}
	if err == nil {
		err = o.send(ctx, cur.ID, b.Exec)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, orm.ErrConflict):
		return errStale
	case !errors.Is(err, orm.ErrUncertain):
		return fmt.Errorf("saga %s: writing version %d: %w", cur.ID, next.Version, err)
	}
	got, rerr := o.entryTx(ctx, cur.ID, next.Version)
	switch {
	case rerr == nil && got == tx:
		return nil
	case rerr == nil || errors.Is(rerr, orm.ErrNotFound):
		return errStale
	}
	return fmt.Errorf("saga %s: version %d: %w (and the serial read that would settle it failed: %w)", cur.ID, next.Version, err, rerr)
}

// readEntryTx returns the tx of the first history entry of saga id's version seq,
// read at SERIAL consistency so that it sees a transition whose writer is still
// waiting for its answer; orm.ErrNotFound when no transition to seq applied.
func (o *Orchestrator) readEntryTx(ctx context.Context, id string, seq int64) (string, error) {
	r, err := o.runs.Query().Where(orm.Eq("saga_id", id), orm.Eq("seq", seq), orm.Eq("n", int32(0))).
		With(orm.WithConsistency(orm.Serial)).One(ctx)
	return r.Tx, err
}

// statics lists r's static columns as changes.
func (r *runRow) statics() []orm.Change {
	return []orm.Change{
		orm.Set("name", r.Name), orm.Set("status", r.Status), orm.Set("version", r.Version), orm.Set("epoch", r.Epoch),
		orm.Set("owner", r.Owner), orm.Set("step", r.Step), orm.Set("direction", r.Dir), orm.Set("attempt", r.Attempt),
		orm.Set("in_flight_until_ms", r.InFlight), orm.Set("wake_at_ms", r.WakeAt), orm.Set("deadline_ms", r.Deadline),
		orm.Set("ran", r.Ran), orm.Set("data", r.Data), orm.Set("codec", r.Codec), orm.Set("reason", r.Reason),
		orm.Set("created_ms", r.Created), orm.Set("updated_ms", r.Updated),
	}
}

// timerRow is a durable wake-up: the saga (tenant, id) needs a worker at fire time.
// Timers are hints, the saga row is the truth: a worker that finds nothing due
// drops the timer. They live in partitions per shard and time bucket, read forward
// with a cursor, so fired timers (and the tombstones of expired ones) are never
// scanned again.
type timerRow struct {
	Shard  int32  `cql:"shard" orm:"pk"`
	Bucket int64  `cql:"bucket" orm:"pk"`
	FireAt int64  `cql:"fire_at_ms" orm:"ck"`
	Tenant string `cql:"tenant" orm:"ck"`
	ID     string `cql:"saga_id" orm:"ck"`
}

// cursorRow is a shard's timer cursor: every timer at or before Position has been
// handled. Token is the lease token of the worker that may move it.
type cursorRow struct {
	Shard    int32  `cql:"shard" orm:"pk"`
	Position int64  `cql:"position_ms"`
	Token    string `cql:"token"`
}

func (o *Orchestrator) bucketOf(fireMS int64) int64 { return fireMS / o.cfg.Bucket.Milliseconds() }

// schedule writes a timer for saga (tenant, id) at t. A write slower than half the
// cursor's lag may land behind a reader that already passed t, so it is written
// again at a later time.
func (o *Orchestrator) schedule(ctx context.Context, tenantID, id string, t time.Time) error {
	shard := o.shardOf(tenantID, id)
	for {
		start := time.Now()
		fire := max(ms(t), ms(start))
		r := timerRow{Shard: shard, Bucket: o.bucketOf(fire), FireAt: fire, Tenant: tenantID, ID: id}
		if err := o.timers.Insert(ctx, &r, orm.WithTTL(o.cfg.Retain)); err != nil {
			return fmt.Errorf("saga %s: writing its timer at %s: %w", id, time.UnixMilli(fire).UTC().Format(time.RFC3339Nano), err)
		}
		if fire > ms(start)+o.cfg.Lag.Milliseconds() || time.Since(start) < o.cfg.Lag/2 {
			return nil
		}
		t = time.Now()
	}
}
