package saga

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Config configures an Orchestrator. A zero field takes its default; Validate says
// which values are refused.
type Config struct {
	// Table prefixes the orchestrator's tables (default "saga"): <Table>_runs holds
	// each saga's state and history (tenant-scoped), <Table>_timers,
	// <Table>_cursors and <Table>_leases the workers' timers, timer cursors and
	// shard leases (shared by all tenants).
	Table string
	// Shards is how many shards the sagas are spread over (default 16). A worker
	// runs the sagas of the shards whose leases it holds. Every process sharing the
	// tables must use the same value.
	Shards int
	// MaxShards caps the shards one worker holds (default Shards), so that several
	// processes share the work.
	MaxShards int
	// LeaseTTL is the shard leases' time to live (default 10 s): a dead worker's
	// sagas resume on another within about this long.
	LeaseTTL time.Duration
	// Poll is how often a worker reads its shards' due timers (default 200 ms), and
	// looks for shards without a holder (every 4 Polls at least, at most LeaseTTL/4).
	Poll time.Duration
	// Lag is how far a shard's timer cursor stays behind the clock (default 2 s), so
	// a timer written late by a slow writer is still read.
	Lag time.Duration
	// Bucket is the width of a timer partition (default 1 minute).
	Bucket time.Duration
	// Concurrency caps the sagas one worker advances at once (default 64).
	Concurrency int
	// Retain is the time to live of timer rows (default 7 days); saga rows are kept.
	Retain time.Duration
	// Owner names this process in lease rows (default host, pid and a random suffix).
	Owner string
	// Observe, when set, is called for every step attempt and saga outcome, on the
	// worker's goroutine: keep it quick (count, log, export metrics).
	Observe func(ctx context.Context, e Event)
	// Log receives the workers' warnings and errors; nil discards them.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Table == "" {
		c.Table = "saga"
	}
	if c.Shards == 0 {
		c.Shards = 16
	}
	if c.MaxShards == 0 {
		c.MaxShards = c.Shards
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.Poll == 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.Lag == 0 {
		c.Lag = 2 * time.Second
	}
	if c.Bucket == 0 {
		c.Bucket = time.Minute
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Retain == 0 {
		c.Retain = 7 * 24 * time.Hour
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a Config New would refuse.
func (c Config) Validate() error {
	if err := orm.CheckIdent("saga table prefix", c.Table); err != nil {
		return fmt.Errorf("saga: Config.Table: %w", err)
	}
	switch {
	case c.Shards < 1 || c.Shards > 4096:
		return fmt.Errorf("saga: Config.Shards %d: want 1 to 4096", c.Shards)
	case c.MaxShards < 1:
		return fmt.Errorf("saga: Config.MaxShards %d: want at least 1", c.MaxShards)
	case c.LeaseTTL < time.Second:
		return fmt.Errorf("saga: Config.LeaseTTL %s: want at least 1s", c.LeaseTTL)
	case c.Poll <= 0 || c.Lag <= 0 || c.Concurrency < 1:
		return fmt.Errorf("saga: Config.Poll %s, Lag %s and Concurrency %d must be positive", c.Poll, c.Lag, c.Concurrency)
	case c.Bucket < time.Second:
		return fmt.Errorf("saga: Config.Bucket %s: want at least 1s", c.Bucket)
	case c.Retain < time.Hour:
		return fmt.Errorf("saga: Config.Retain %s: want at least 1h", c.Retain)
	}
	return nil
}

// Event is what Config.Observe sees.
type Event struct {
	// Kind is one of: started, attempt, succeeded, failed, timed_out,
	// compensating, completed, compensated, parked.
	Kind             string
	Saga, Name, Step string
	Tenant           string
	Direction        Direction
	Attempt          int
	Took             time.Duration
	Err              error
}

// Orchestrator stores sagas and runs them. Start, Execute, Status, Wait and History
// work in any process; Run makes the process a worker. It is safe for concurrent
// use.
type Orchestrator struct {
	db     *orm.DB
	cfg    Config
	runs   *orm.Model[runRow]
	timers *orm.Model[timerRow]
	cursor *orm.Model[cursorRow]
	leases *lease.Manager

	// send sends one of saga id's conditional writes (Start's insert, a
	// transition's batch) and entryTx is the SERIAL read that settles one whose
	// outcome is unknown (readEntryTx); tests replace them to lose answers.
	send    func(ctx context.Context, id string, write func(context.Context) error) error
	entryTx func(ctx context.Context, id string, seq int64) (string, error)

	mu      sync.Mutex
	defs    map[string]flow
	worker  *worker // set while Run runs
	waiters map[string][]chan struct{}
}

// flow is a registered definition without its state type.
type flow interface {
	advance(ctx context.Context, w *worker, sh *shard, k sagaKey, r *runRow) error
}

// New makes an Orchestrator on db (a tenanted view or a plain DB). Call Sync once
// before use, and in each keyspace tenant's provisioning.
func New(db *orm.DB, cfg Config) (*Orchestrator, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Orchestrator{db: db, cfg: cfg, defs: map[string]flow{}, waiters: map[string][]chan struct{}{}}
	o.send = func(ctx context.Context, _ string, write func(context.Context) error) error { return write(ctx) }
	o.entryTx = o.readEntryTx
	var err error
	if o.runs, err = orm.NewModel[runRow](db, orm.TableName(cfg.Table+"_runs")); err != nil {
		return nil, fmt.Errorf("saga: %w", err)
	}
	if o.timers, err = orm.NewModel[timerRow](db, orm.TableName(cfg.Table+"_timers"), orm.WithScope(orm.GlobalScope),
		orm.WithTableOptions(orm.TableOptions{Comment: "saga timers: one partition per shard and time bucket, read forward with a cursor"})); err != nil {
		return nil, fmt.Errorf("saga: %w", err)
	}
	if o.cursor, err = orm.NewModel[cursorRow](db, orm.TableName(cfg.Table+"_cursors"), orm.WithScope(orm.GlobalScope)); err != nil {
		return nil, fmt.Errorf("saga: %w", err)
	}
	if o.leases, err = lease.New(db, lease.Config{Table: cfg.Table + "_leases", Scope: orm.GlobalScope, TTL: cfg.LeaseTTL, Owner: cfg.Owner}); err != nil {
		return nil, fmt.Errorf("saga: %w", err)
	}
	return o, nil
}

// Sync creates or updates the orchestrator's tables (the tenant's saga table in its
// keyspace when ctx names a keyspace tenant, and the shared ones) and each shard's
// timer cursor. Run it before the first Start, and again after raising Shards.
func (o *Orchestrator) Sync(ctx context.Context) error {
	if err := o.db.Sync(ctx, o.runs, o.timers, o.cursor); err != nil {
		return fmt.Errorf("saga: sync: %w", err)
	}
	if err := o.leases.Sync(ctx); err != nil {
		return err
	}
	// Every shard's timer cursor exists before the first saga can start, so no
	// worker ever has to guess where a shard's timers begin.
	start := ms(time.Now().Add(-o.cfg.Lag))
	for n := range int32(o.cfg.Shards) {
		err := o.cursor.InsertIfNotExists(ctx, &cursorRow{Shard: n, Position: start})
		if err != nil && !errors.Is(err, orm.ErrConflict) {
			return fmt.Errorf("saga: sync: the timer cursor of shard %d: %w", n, err)
		}
	}
	return nil
}

// Register adds def to o and returns its typed handle. A name may be registered
// once per Orchestrator; every process running this saga registers the same steps.
func Register[S any](o *Orchestrator, def *Definition[S]) (*Flow[S], error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	d := *def
	d.Steps = append([]Step[S](nil), def.Steps...)
	if d.Codec == nil {
		d.Codec = JSON[S]()
	}
	if v := d.Codec.Version(); v < 1 {
		return nil, fmt.Errorf("saga %s: codec version %d: want at least 1", d.Name, v)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dup := o.defs[d.Name]; dup {
		return nil, fmt.Errorf("saga %s: registered twice", d.Name)
	}
	f := &Flow[S]{o: o, def: d}
	o.defs[d.Name] = f
	return f, nil
}

// shardOf places a saga.
func (o *Orchestrator) shardOf(tenantID, id string) int32 {
	h := fnv.New32a()
	h.Write([]byte(tenantID))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return int32(h.Sum32() % uint32(o.cfg.Shards))
}

// tenantOf returns ctx's tenant on a tenanted DB, "" otherwise; the ORM refuses a
// tenanted call without one.
func (o *Orchestrator) tenantOf(ctx context.Context) (string, error) {
	if !o.db.Tenanted() {
		return "", nil
	}
	return tenant.From(ctx)
}

// Status returns saga id's stored state.
func (o *Orchestrator) Status(ctx context.Context, id string) (Info, error) {
	tid, err := o.tenantOf(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("saga %s: %w", id, err)
	}
	r, err := o.load(ctx, id, false)
	if err != nil {
		return Info{}, err
	}
	return r.info(tid), nil
}

// History returns saga id's history, oldest first.
func (o *Orchestrator) History(ctx context.Context, id string) ([]Entry, error) {
	return o.history(ctx, id)
}

// Wait returns once saga id has ended, or ctx has. A saga that completed returns
// its Info and nil; one that compensated or parked returns its Info and an
// *OutcomeError. Sagas only move while a worker (Run) runs somewhere.
func (o *Orchestrator) Wait(ctx context.Context, id string) (Info, error) {
	pause := 10 * time.Millisecond
	for {
		ch := o.waiter(id)
		in, err := o.Status(ctx, id)
		switch {
		case err != nil && !errors.Is(err, orm.ErrTimeout) && !errors.Is(err, orm.ErrUnavailable):
			o.dropWaiter(id, ch)
			return in, err
		case err == nil && in.Status.Final():
			o.dropWaiter(id, ch)
			if in.Status != Completed {
				return in, &OutcomeError{Info: in}
			}
			return in, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			o.dropWaiter(id, ch)
			return in, fmt.Errorf("saga %s: waiting: %w", id, ctx.Err())
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		o.dropWaiter(id, ch)
		pause = min(2*pause, time.Second)
	}
}

// waiter returns a channel closed when this process's worker next ends saga id.
func (o *Orchestrator) waiter(id string) chan struct{} {
	ch := make(chan struct{})
	o.mu.Lock()
	o.waiters[id] = append(o.waiters[id], ch)
	o.mu.Unlock()
	return ch
}

func (o *Orchestrator) dropWaiter(id string, ch chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ws := o.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(o.waiters, id)
	} else {
		o.waiters[id] = ws
	}
}

// ended wakes the waiters of saga id.
func (o *Orchestrator) ended(id string) {
	o.mu.Lock()
	ws := o.waiters[id]
	delete(o.waiters, id)
	o.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

func (o *Orchestrator) observe(ctx context.Context, e Event) {
	if o.cfg.Observe != nil {
		o.cfg.Observe(ctx, e)
	}
}

// Flow is a registered saga definition over state S: it starts sagas and reads
// their typed state. It is safe for concurrent use.
type Flow[S any] struct {
	o   *Orchestrator
	def Definition[S]
}

// Result is a saga's state with its data decoded.
type Result[S any] struct {
	Info
	// State is the saga's state after the last step that succeeded.
	State S
}

// StartOption configures Start and Execute.
type StartOption func(*startOpts)

type startOpts struct{ id string }

// WithID gives the saga its id (at most 200 bytes), so that starting it twice is
// refused with ErrExists: an order id, say. By default the id is a new UUID.
func WithID(id string) StartOption { return func(s *startOpts) { s.id = id } }

// Start stores a new saga with state and returns its id at once; a worker runs it.
// The saga runs for ctx's tenant.
func (f *Flow[S]) Start(ctx context.Context, state S, opts ...StartOption) (string, error) {
	var so startOpts
	for _, opt := range opts {
		opt(&so)
	}
	if so.id == "" {
		so.id = orm.NewUUID().String()
	}
	if len(so.id) > 200 {
		return "", fmt.Errorf("saga %s: id of %d bytes: want at most 200", f.def.Name, len(so.id))
	}
	tid, err := f.o.tenantOf(ctx)
	if err != nil {
		return "", fmt.Errorf("saga %s: start: %w", f.def.Name, err)
	}
	data, err := f.def.Codec.Encode(state)
	if err != nil {
		return "", fmt.Errorf("saga %s %s: encoding its state: %w", f.def.Name, so.id, err)
	}
	now := time.Now()
	r := runRow{ID: so.id, Seq: 1, Name: f.def.Name, Steps: f.steps(), Status: string(Running), Version: 1, Dir: string(Do),
		WakeAt: ms(now), Data: data, Codec: int32(f.def.Codec.Version()), Created: ms(now), Updated: ms(now),
		Event: "started", At: now, Tx: orm.NewUUID().String()}
	if f.def.Timeout > 0 {
		r.Deadline = ms(now.Add(f.def.Timeout))
	}
	// The timer goes first: if the saga's row is written, some worker will find it.
	if err := f.o.schedule(ctx, tid, so.id, now); err != nil {
		return "", err
	}
	err = f.o.send(ctx, so.id, func(ctx context.Context) error { return f.o.runs.InsertIfNotExists(ctx, &r) })
	switch {
	case errors.Is(err, orm.ErrConflict):
		return so.id, fmt.Errorf("%w: saga %s", ErrExists, so.id)
	case errors.Is(err, orm.ErrUncertain):
		tx, rerr := f.o.entryTx(ctx, so.id, 1)
		switch {
		case rerr == nil && tx == r.Tx:
		case rerr == nil:
			return so.id, fmt.Errorf("%w: saga %s", ErrExists, so.id)
		case errors.Is(rerr, orm.ErrNotFound):
			return "", fmt.Errorf("saga %s %s: not started: %w", f.def.Name, so.id, err)
		default:
			return so.id, fmt.Errorf("saga %s %s: start: %w (and the serial read that would settle it failed: %w)", f.def.Name, so.id, err, rerr)
		}
	case err != nil:
		return "", fmt.Errorf("saga %s %s: start: %w", f.def.Name, so.id, err)
	}
	f.o.observe(ctx, Event{Kind: "started", Saga: so.id, Name: f.def.Name, Tenant: tid})
	f.o.poke(tid, so.id)
	return so.id, nil
}

// Execute starts a saga and waits for its outcome: the final state and nil when it
// completed, an *OutcomeError (ErrCompensated, ErrCompensationFailed) otherwise. A
// worker must run somewhere (Run).
func (f *Flow[S]) Execute(ctx context.Context, state S, opts ...StartOption) (Result[S], error) {
	id, err := f.Start(ctx, state, opts...)
	if err != nil {
		return Result[S]{}, err
	}
	return f.Wait(ctx, id)
}

// Wait waits for saga id as Orchestrator.Wait does, and decodes its state.
func (f *Flow[S]) Wait(ctx context.Context, id string) (Result[S], error) {
	in, err := f.o.Wait(ctx, id)
	res, derr := f.result(in)
	if err == nil {
		err = derr
	}
	return res, err
}

// Status returns saga id's stored state, decoded.
func (f *Flow[S]) Status(ctx context.Context, id string) (Result[S], error) {
	in, err := f.o.Status(ctx, id)
	if err != nil {
		return Result[S]{Info: in}, err
	}
	return f.result(in)
}

// History returns saga id's history, oldest first.
func (f *Flow[S]) History(ctx context.Context, id string) ([]Entry, error) {
	return f.o.history(ctx, id)
}

func (f *Flow[S]) result(in Info) (Result[S], error) {
	res := Result[S]{Info: in}
	if in.Data == nil {
		return res, nil
	}
	s, err := f.def.Codec.Decode(in.CodecVersion, in.Data)
	if err != nil {
		return res, fmt.Errorf("saga %s %s: decoding its state: %w", in.Name, in.ID, err)
	}
	res.State = s
	return res, nil
}

func (f *Flow[S]) steps() []string {
	out := make([]string, len(f.def.Steps))
	for i, s := range f.def.Steps {
		out[i] = s.Name
	}
	return out
}
