package barrier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Op is the direction of a branch call.
type Op string

// The two directions of a branch.
const (
	// Do is the step's action.
	Do Op = "do"
	// Undo is its compensation.
	Undo Op = "undo"
)

// Outcome says what a Barrier call did. The zero value is none of the outcomes: it
// is what Do and Undo return with every error except ErrCompensated.
type Outcome int

// Outcomes of Do and Undo.
const (
	// Ran: fn ran and finished without error, and the barrier recorded it.
	Ran Outcome = iota + 1
	// Duplicate: the same op had already finished: fn was not called.
	Duplicate
	// NullCompensation: an undo came before any do: it was recorded and fn was not
	// called; a later do of the branch is skipped.
	NullCompensation
	// Skipped: a do came after its undo (or after a null compensation): fn was not
	// called. Do returns it with an error matching ErrCompensated.
	Skipped
)

// String returns "ran", "duplicate", "null compensation" or "skipped", or
// Outcome(n) for a value that is none of them.
func (o Outcome) String() string {
	switch o {
	case Ran:
		return "ran"
	case Duplicate:
		return "duplicate"
	case NullCompensation:
		return "null compensation"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Errors of Do and Undo. Each is returned wrapped, naming the table and the branch.
var (
	// ErrInFlight: another run of this branch has started and its deadline has not
	// passed; nothing was done. It is worth retrying once that run has finished or
	// its deadline has passed.
	ErrInFlight = errors.New("barrier: branch in flight")
	// ErrCompensated is returned (wrapped) by Do with Outcome Skipped: the branch's
	// undo came first, so the do must not happen.
	ErrCompensated = errors.New("barrier: branch compensated")
	// ErrLost: this run's deadline passed and another run took the branch over, so
	// the barrier refused to record this run's end. fn did run (in whole or in part)
	// and its effects may stand: the run that took over, or the undo, deals with them.
	ErrLost = errors.New("barrier: run taken over")
)

// Phase is the recorded state of one direction of a branch: "" (never started),
// "started" (a run took it and has not finished: in flight until its deadline,
// abandoned after), "done" (fn finished without error), "failed" (fn returned an
// error or panicked, or, for a do, its run was abandoned and an undo took the branch
// over) or "null" (undo only: a null compensation).
type Phase string

// The phases the barrier records.
const (
	phaseNever   Phase = ""
	phaseStarted Phase = "started"
	phaseDone    Phase = "done"
	phaseFailed  Phase = "failed"
	phaseNull    Phase = "null"
)

// BranchState is the recorded state of both directions of a branch. DoAt and UndoAt
// are when their phase was last recorded (the start, then the end, of a run; an
// abandoned do's fencing by the undo that took it over; the null compensation); zero
// when never started.
type BranchState struct {
	Do, Undo     Phase
	DoAt, UndoAt time.Time
}

// maxBranchLen is the longest branch name, in bytes.
const maxBranchLen = 512

// maxAttempts bounds the lightweight transactions one call sends to take a branch
// whose state keeps changing under it; past it the call returns ErrInFlight.
const maxAttempts = 8

// finishTimeout bounds the write that records the end of a run. It runs even when
// the caller's context has ended (fn finished: that must be recorded if it can be).
const finishTimeout = 10 * time.Second

// Config configures a Barrier. A zero field takes its default; Validate says which
// values are refused.
type Config struct {
	// Table is the barrier table's name (default "saga_barrier"), a Cassandra
	// identifier.
	Table string
	// Scope says, on a tenanted DB (orm.DB.WithTenancy), whose branches these are:
	// orm.TenantScope (the default) gives each tenant its own branches, and every call
	// then needs a tenant in its context (tenant.With); orm.GlobalScope and
	// orm.KeyspaceScope share them (see orm.WithScope). On a DB without tenancy it
	// changes nothing.
	Scope orm.Scope
	// InFlight is how long a run whose context has no deadline counts as in flight
	// (default 30s). fn runs with a context that ends then: after it, another call may
	// take the branch over. A context deadline, when there is one, is the run's
	// deadline instead.
	InFlight time.Duration
	// Retain is how long a branch's record lives after its last write (default 30
	// days, at least InFlight, at most orm.MaxTTL): a duplicate call, or a do after
	// its undo, that comes later than this is not recognised and runs as a first one.
	Retain time.Duration
}

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Table == "" {
		c.Table = "saga_barrier"
	}
	if c.InFlight == 0 {
		c.InFlight = 30 * time.Second
	}
	if c.Retain == 0 {
		c.Retain = 30 * 24 * time.Hour
	}
}

// Validate reports the first field whose value a Barrier cannot work with. Zero
// fields count as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	if err := orm.CheckIdent("table", c.Table); err != nil {
		return fmt.Errorf("barrier: Config.Table: %w", err)
	}
	switch c.Scope {
	case orm.TenantScope, orm.GlobalScope, orm.KeyspaceScope:
	default:
		return fmt.Errorf("barrier: Config.Scope %v: not a scope", c.Scope)
	}
	if c.InFlight < time.Millisecond {
		return fmt.Errorf("barrier: Config.InFlight %v: want at least 1ms", c.InFlight)
	}
	if c.Retain < c.InFlight || c.Retain < time.Second || c.Retain > orm.MaxTTL {
		return fmt.Errorf("barrier: Config.Retain %v: want at least InFlight (%v) and 1s, at most orm.MaxTTL (%v)", c.Retain, c.InFlight, orm.MaxTTL)
	}
	return nil
}

// row is the record of one branch: each direction's phase, the token of the run
// that holds it, that run's deadline, and when the phase was recorded.
type row struct {
	Branch       string    `cql:"branch" orm:"pk"`
	DoPhase      string    `cql:"do_phase"`
	DoToken      orm.UUID  `cql:"do_token"`
	DoDeadline   time.Time `cql:"do_deadline"`
	DoAt         time.Time `cql:"do_at"`
	UndoPhase    string    `cql:"undo_phase"`
	UndoToken    orm.UUID  `cql:"undo_token"`
	UndoDeadline time.Time `cql:"undo_deadline"`
	UndoAt       time.Time `cql:"undo_at"`
}

// side is one direction of a row.
type side struct {
	phase    Phase
	token    orm.UUID
	deadline time.Time
}

func (r *row) side(op Op) side {
	if op == Do {
		return side{Phase(r.DoPhase), r.DoToken, r.DoDeadline}
	}
	return side{Phase(r.UndoPhase), r.UndoToken, r.UndoDeadline}
}

// inFlight reports whether s is a run that has started and whose deadline has not
// passed at now.
func (s side) inFlight(now time.Time) bool {
	return s.phase == phaseStarted && now.Before(s.deadline)
}

// Barrier records the do and undo of saga branches so that each runs in order and
// its finished work is not repeated. It is safe for concurrent use, also by many
// processes on one table.
type Barrier struct {
	rows *orm.Model[row]
	cfg  Config
	// patchIf sends one of the barrier's lightweight transactions on branch's row,
	// and readBack is the SERIAL read (read) that settles one whose outcome is
	// unknown; tests replace them to lose answers.
	patchIf  func(ctx context.Context, branch string, conds []orm.Predicate, changes []orm.Change) error
	readBack func(ctx context.Context, branch string) (row, error)
}

// New returns a Barrier on db, or the error of cfg.Validate. Call Sync once to
// create its table.
func New(db *orm.DB, cfg Config) (*Barrier, error) {
	if db == nil {
		return nil, errors.New("barrier: New: nil DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	rows, err := orm.NewModel[row](db, orm.TableName(cfg.Table), orm.WithScope(cfg.Scope))
	if err != nil {
		return nil, fmt.Errorf("barrier: table %s: %w", cfg.Table, err)
	}
	b := &Barrier{rows: rows, cfg: cfg}
	b.patchIf = func(ctx context.Context, branch string, conds []orm.Predicate, changes []orm.Change) error {
		return rows.PatchIf(ctx, []any{branch}, conds, changes, orm.WithTTL(cfg.Retain))
	}
	b.readBack = b.read
	return b, nil
}

// Sync creates the barrier's table, or brings it in line (db.Sync).
func (b *Barrier) Sync(ctx context.Context) error {
	if ctx == nil {
		return errors.New("barrier: Sync: nil context")
	}
	if err := b.rows.DB().Sync(ctx, b.rows); err != nil {
		return fmt.Errorf("barrier: table %s: %w", b.cfg.Table, err)
	}
	return nil
}

// Do runs fn for branch unless the barrier says otherwise. branch is the saga's key
// for the step without the direction, e.g. "<saga id>/<step>"; it must be non-empty
// valid UTF-8 of at most 512 bytes.
//
// It returns Ran once fn has run and finished without error; Duplicate when a do of
// branch had already finished; Skipped, with an error matching ErrCompensated, when
// the branch's undo came first (a null compensation or a real one, finished or not:
// the do may never run, however the undo ends). fn is not called in those last two
// cases. While another do of branch is in flight (it has started and its deadline
// has not passed) Do returns ErrInFlight and calls nothing. A run that did not
// finish (fn returned an error, or the process died, or its deadline passed) is run
// again by the next call: so fn must be idempotent for the branch (see the package
// documentation).
//
// fn runs with a context that ends at the run's deadline: ctx's deadline if it has
// one, else Config.InFlight from now. If fn returns an error, Do returns it wrapped,
// and records the run as failed so that the next call runs fn again; if fn panics,
// the run is recorded as failed and the panic goes on. If the run's deadline passed
// and another call took the branch over meanwhile, Do returns ErrLost.
//
// Storage errors name the table and the branch. An error matching orm.ErrUncertain
// is resolved by a SERIAL read, and returned only when that read fails too. On a
// tenant-scoped barrier of a tenanted DB, a ctx without a tenant fails with an error
// matching tenant.ErrNoTenant.
func (b *Barrier) Do(ctx context.Context, branch string, fn func(ctx context.Context) error) (Outcome, error) {
	return b.run(ctx, Do, branch, fn)
}

// Undo runs fn, the compensation of branch, unless the barrier says otherwise; branch
// is as for Do.
//
// It returns Ran once fn has run and finished without error; Duplicate when an undo
// of branch had already finished (or been recorded as a null compensation);
// NullCompensation, without calling fn, when no do of branch ever started: the undo
// is recorded, and a do that arrives later is skipped. A do that has started, even
// one that failed or was abandoned, is compensated by running fn: its effects may
// stand. While a do or an undo of branch is in flight Undo returns ErrInFlight; a do
// abandoned past its deadline is fenced (recorded as failed, its end refused with
// ErrLost) and compensated. Errors, deadlines and retries are as for Do.
func (b *Barrier) Undo(ctx context.Context, branch string, fn func(ctx context.Context) error) (Outcome, error) {
	return b.run(ctx, Undo, branch, fn)
}

// State reports the recorded state of both directions of branch, for operators and
// tests, read with SERIAL consistency so that it sees every finished transition. A
// branch never seen (or whose record has expired, see Config.Retain) has the zero
// state.
func (b *Barrier) State(ctx context.Context, branch string) (BranchState, error) {
	if ctx == nil {
		return BranchState{}, errors.New("barrier: State: nil context")
	}
	if err := checkBranch(branch); err != nil {
		return BranchState{}, fmt.Errorf("barrier: State: %w", err)
	}
	r, err := b.read(ctx, branch)
	if err != nil {
		return BranchState{}, fmt.Errorf("barrier: state of %q in table %s: %w", branch, b.cfg.Table, err)
	}
	return BranchState{Do: Phase(r.DoPhase), Undo: Phase(r.UndoPhase), DoAt: r.DoAt, UndoAt: r.UndoAt}, nil
}

// read returns branch's row read with SERIAL consistency (a zero row holding only
// the branch when there is none), which completes any transition in progress.
func (b *Barrier) read(ctx context.Context, branch string) (row, error) {
	r, err := b.rows.Query().Where(orm.Eq("branch", branch)).With(orm.WithConsistency(orm.Serial)).One(ctx)
	if errors.Is(err, orm.ErrNotFound) {
		return row{Branch: branch}, nil
	}
	return r, err
}

// checkBranch refuses branch names the table cannot key.
func checkBranch(branch string) error {
	switch {
	case branch == "":
		return errors.New("empty branch")
	case len(branch) > maxBranchLen:
		return fmt.Errorf("branch %.40q... is %d bytes long: want at most %d", branch, len(branch), maxBranchLen)
	case !utf8.ValidString(branch):
		return fmt.Errorf("branch %q is not valid UTF-8", branch)
	}
	return nil
}

// SplitKey splits an idempotency key "<saga id>/<step>/<do|undo>" (the form the saga
// package gives participants, e.g. in an Idempotency-Key HTTP header) into branch
// ("<saga id>/<step>") and op. The saga id is the text before the first "/", the
// direction after the last, the step what lies between; none may be empty, and the
// branch must be one Do takes. Malformed keys are an error naming the key.
func SplitKey(key string) (branch string, op Op, err error) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", "", fmt.Errorf("barrier: idempotency key %s: want <saga id>/<step>/<do|undo>", quoteKey(key))
	}
	branch, op = key[:i], Op(key[i+1:])
	if op != Do && op != Undo {
		return "", "", fmt.Errorf("barrier: idempotency key %s: direction %s: want do or undo", quoteKey(key), quoteKey(string(op)))
	}
	if saga, step, ok := strings.Cut(branch, "/"); !ok || saga == "" || step == "" {
		return "", "", fmt.Errorf("barrier: idempotency key %s: want <saga id>/<step>/<do|undo>, both non-empty", quoteKey(key))
	}
	if err := checkBranch(branch); err != nil {
		return "", "", fmt.Errorf("barrier: idempotency key %s: %w", quoteKey(key), err)
	}
	return branch, op, nil
}

// quoteKey quotes key for an error message, cut short when it is long.
func quoteKey(key string) string {
	const max = 100
	if len(key) > max {
		return fmt.Sprintf("%.*q...", max, key)
	}
	return fmt.Sprintf("%q", key)
}
