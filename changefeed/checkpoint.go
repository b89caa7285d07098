package changefeed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// checkpointRow is how far a reader has got, and which lease holder wrote it.
type checkpointRow struct {
	Name   string   `cql:"name" orm:"pk"`
	Bucket int64    `cql:"bucket"`
	Seq    orm.UUID `cql:"seq" orm:"timeuuid"`
	Owner  string   `cql:"owner"`
	// Generation counts restarts from the beginning: state a reader keeps beside
	// its checkpoint is valid only for its generation.
	Generation int64     `cql:"generation"`
	UpdatedAt  time.Time `cql:"updated_at"`
	// Seen is the reader's record of what it handled behind its position, for
	// its successor's first look-back (Config.LookBack).
	Seen []byte `cql:"seen"`
}

// Checkpoint is a reader's saved place: its position, the lease token of the
// holder that saved it, and its generation.
type Checkpoint struct {
	Position   Position
	Owner      string
	Generation int64

	seen string // the look-back record saved with it
}

// ErrFenced is matched by the error of a save refused because another lease
// holder saved the checkpoint since this one read it: this holder has lost its
// lease and must stop.
var ErrFenced = errors.New("changefeed: checkpoint written by another holder")

// Checkpoints is a table of readers' checkpoints, by name. It is safe for
// concurrent use.
type Checkpoints struct {
	rows *orm.Model[checkpointRow]
}

// NewCheckpoints returns the checkpoints kept in table on db. Sync its Model once.
func NewCheckpoints(db *orm.DB, table string) (*Checkpoints, error) {
	rows, err := orm.NewModel[checkpointRow](db, orm.TableName(table))
	if err != nil {
		return nil, err
	}
	return &Checkpoints{rows: rows}, nil
}

// Model returns the checkpoints' table, for DB.Sync.
func (c *Checkpoints) Model() orm.SchemaModel { return c.rows }

// Get returns the checkpoint saved under name, the zero Checkpoint if none.
func (c *Checkpoints) Get(ctx context.Context, name string) (Checkpoint, error) {
	r, err := c.rows.Get(ctx, name)
	if errors.Is(err, orm.ErrNotFound) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("changefeed: reading checkpoint %s: %w", name, err)
	}
	return Checkpoint{Position: Position{Bucket: r.Bucket, Seq: r.Seq}, Owner: r.Owner, Generation: r.Generation, seen: string(r.Seen)}, nil
}

// Save records pos and generation under name on behalf of lease holder owner, if
// the checkpoint's owner is still prev (the owner seen when the holder started, or
// owner itself after its first save). The condition fences out a holder that lost
// its lease while paused: once its successor has saved, its own saves fail with
// ErrFenced.
func (c *Checkpoints) Save(ctx context.Context, name string, pos Position, generation int64, owner, prev string) error {
	return c.save(ctx, name, pos, generation, owner, prev, nil)
}

// save is Save with the reader's look-back record.
func (c *Checkpoints) save(ctx context.Context, name string, pos Position, generation int64, owner, prev string, seen []byte) error {
	var seq, prevOwner any
	if pos.Seq != (orm.UUID{}) {
		seq = pos.Seq
	}
	if prev != "" {
		prevOwner = prev
	}
	changes := []orm.Change{
		orm.Set("bucket", pos.Bucket), orm.Set("seq", seq), orm.Set("owner", owner), orm.Set("generation", generation),
		orm.Set("updated_at", time.Now().UTC()),
	}
	if seen != nil {
		changes = append(changes, orm.Set("seen", seen))
	}
	err := c.rows.PatchIf(ctx, []any{name}, []orm.Predicate{orm.Eq("owner", prevOwner)}, changes)
	if errors.Is(err, orm.ErrConflict) {
		return fmt.Errorf("changefeed: saving checkpoint %s: %w", name, ErrFenced)
	}
	if err != nil {
		return fmt.Errorf("changefeed: saving checkpoint %s: %w", name, err)
	}
	return nil
}

// Claim is a checkpoint held under a lease: the holder reads it, writes it back
// under its own token at once (so a former holder's saves fail from then on), and
// saves its progress through it.
type Claim struct {
	cps  *Checkpoints
	name string
	held *lease.Held
	pos  Position
	gen  int64
	seen []byte // the look-back record saved with pos
}

// Claim takes checkpoint name for the holder of held: see Claim.
func (c *Checkpoints) Claim(ctx context.Context, name string, held *lease.Held) (*Claim, error) {
	cp, err := c.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	cl := &Claim{cps: c, name: name, held: held, pos: cp.Position, gen: cp.Generation, seen: []byte(cp.seen)}
	if err := cl.saveAs(ctx, cl.pos, cl.seen, cp.Owner); err != nil {
		return nil, err
	}
	return cl, nil
}

// Position is the claim's position as last saved.
func (c *Claim) Position() Position { return c.pos }

// Generation is the claim's generation.
func (c *Claim) Generation() int64 { return c.gen }

// Held is the lease the claim is held under.
func (c *Claim) Held() *lease.Held { return c.held }

// Save records pos, if the lease is still valid and this holder wrote the
// checkpoint last; else it fails with an error matching ErrLeaseLost (and
// ErrFenced, or the lease's error).
func (c *Claim) Save(ctx context.Context, pos Position) error {
	return c.saveAs(ctx, pos, nil, c.held.Token())
}

// save is Save with the reader's look-back record.
func (c *Claim) save(ctx context.Context, pos Position, seen []byte) error {
	return c.saveAs(ctx, pos, seen, c.held.Token())
}

func (c *Claim) saveAs(ctx context.Context, pos Position, seen []byte, prev string) error {
	if !c.held.Valid() {
		return fmt.Errorf("changefeed: checkpoint %s: %w: %w", c.name, ErrLeaseLost, leaseErr(c.held))
	}
	if err := c.cps.save(ctx, c.name, pos, c.gen, c.held.Token(), prev, seen); err != nil {
		if errors.Is(err, ErrFenced) {
			return fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		return err
	}
	c.pos, c.seen = pos, seen
	return nil
}

// Restart moves the claim to the beginning of the log in a new generation.
func (c *Claim) Restart(ctx context.Context) error {
	c.gen++
	return c.Save(ctx, Position{})
}

// leaseErr says why held is no longer valid.
func leaseErr(held *lease.Held) error {
	if err := held.Err(); err != nil {
		return err
	}
	return fmt.Errorf("lease %s released", held.Name())
}
