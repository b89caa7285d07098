package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// maxExpirePerChange bounds the expired holds one change releases besides its own
// work, so that its batch stays small; the next change, or the sweeper, releases
// the rest.
const maxExpirePerChange = 20

// txn is one attempt at changing a product's partition: the state read, and the
// changes decided on it, which exec writes as one conditional batch guarded by the
// version read. The methods that decide keep the fields in step with the changes,
// so after them the txn shows the partition as it will be.
type txn struct {
	s   *Service
	now time.Time
	pid string
	rid string // the reservation read with the stock; "" for none

	exists     bool // stock was set (the version column is not null)
	version    int64
	onHand     int64
	available  int64
	holds      map[string]Hold
	lastChange string
	updatedAt  time.Time
	policy     ReorderPolicy
	openPO     string // the open purchase order (as it will be)
	row        *Stock // rid's row (as it will be); nil when there is none

	// readOnHand and readAvailable are the levels as read: a batch sets only
	// those that change, so that a change on the feed holds available only when
	// available changed.
	readOnHand, readAvailable int64

	// prior is the first attempt of this call whose write had an unknown outcome,
	// if any: this attempt's state was then read at SERIAL consistency.
	prior *txn

	stock     bool            // the static columns change: the batch is guarded by version
	added     map[string]Hold // holds to add
	removed   []string        // holds to drop
	rows      []*Stock        // rows written whole
	insert    *Stock          // a row written IF NOT EXISTS
	change    string          // the Restock id to record
	setPolicy bool            // write policy
	reorder   string          // a purchase order id to set IF open_purchase_order is null
	clearPO   bool            // clear open_purchase_order
	expired   int             // holds released because their time passed
}

// read reads product pid's stock and, when rid is not empty, rid's row in it, at
// SERIAL consistency when serial is set (to see the outcome of a lightweight
// transaction whose answer was lost).
//
// The stock is read first and the row second, so that the two agree: a row read
// brings the static columns as they were with it, and a row found absent was
// absent when the stock was read too (rows are never deleted, only expire after
// Config.Retention). Read the other way round, a row found absent and a stock
// read after a duplicate call held it would say "insufficient" to a reservation
// that is held.
func (s *Service) read(ctx context.Context, pid, rid string, serial bool) (*txn, error) {
	q := s.stock.Query()
	if serial {
		q = q.With(orm.WithConsistency(orm.Serial))
	}
	t := &txn{s: s, now: time.Now().UTC().Truncate(time.Millisecond), pid: pid, rid: rid}
	st, err := q.Where(orm.Eq("product_id", pid)).One(ctx)
	if err != nil && !errors.Is(err, orm.ErrNotFound) {
		return nil, fmt.Errorf("inventory: read stock of product %q: %w", pid, err)
	}
	if rid != "" {
		r, err := q.Where(orm.Eq("product_id", pid), orm.Eq("reservation_id", rid)).One(ctx)
		switch {
		case err == nil:
			st = r
			row := r
			t.row = &row
		case !errors.Is(err, orm.ErrNotFound):
			return nil, fmt.Errorf("inventory: read reservation %q of product %q: %w", rid, pid, err)
		}
	}
	t.exists = st.Version != nil
	t.version = deref(st.Version)
	t.onHand = int64(deref(st.OnHand))
	t.available = int64(deref(st.Available))
	t.holds = maps.Clone(st.Holds)
	if t.holds == nil {
		t.holds = map[string]Hold{}
	}
	t.lastChange = deref(st.LastChange)
	t.updatedAt = deref(st.UpdatedAt)
	t.policy = ReorderPolicy{AutoReorder: deref(st.AutoReorder), Threshold: int(deref(st.ReorderThreshold)), Quantity: int(deref(st.ReorderQuantity))}
	t.openPO = deref(st.OpenPurchaseOrder)
	t.readOnHand, t.readAvailable = t.onHand, t.available
	return t, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// expireDue releases, as expired, the holds whose time has passed, the oldest
// first, up to limit: the lazy expiry every change makes (up to
// maxExpirePerChange), and what a read that changes nothing counts as released
// (all).
func (t *txn) expireDue(limit int) {
	var due []string
	for id, h := range t.holds {
		if !h.ExpiresAt.After(t.now) {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		return cmp.Or(t.holds[a].ExpiresAt.Compare(t.holds[b].ExpiresAt), cmp.Compare(a, b))
	})
	for _, id := range due[:min(len(due), limit)] {
		t.settle(id, StateExpired)
		t.expired++
	}
}

// hold adds a held reservation of q units for rid, written IF NOT EXISTS.
func (t *txn) hold(q int, expiresAt time.Time) {
	h := Hold{Quantity: int32(q), ExpiresAt: expiresAt, CreatedAt: t.now}
	t.insert = t.rowOf(t.rid, h, StateHeld)
	t.row = t.insert
	t.holds[t.rid] = h
	if t.added == nil {
		t.added = map[string]Hold{}
	}
	t.added[t.rid] = h
	t.available -= int64(q)
	t.stock = true
}

// settle ends the hold of reservation id with state (released, committed or
// expired), giving its units back unless they were sold.
func (t *txn) settle(id string, state State) {
	h := t.holds[id]
	delete(t.holds, id)
	if _, ok := t.added[id]; ok {
		delete(t.added, id)
	} else {
		t.removed = append(t.removed, id)
	}
	if state == StateCommitted {
		t.onHand -= int64(h.Quantity)
	} else {
		t.available += int64(h.Quantity)
	}
	row := t.rowOf(id, h, state)
	t.rows = append(t.rows, row)
	if id == t.rid {
		t.row = row
	}
	t.stock = true
}

// unsell undoes the sale of rid's committed row: its units are back on hand and
// available, and the row is released.
func (t *txn) unsell() {
	q := int64(t.row.Quantity)
	t.onHand += q
	t.available += q
	row := withoutStatics(*t.row)
	row.State = StateReleased
	t.rows = append(t.rows, &row)
	t.row = &row
	t.stock = true
}

// cancel writes rid's row as cancelled, IF NOT EXISTS: a release came before
// its reservation.
func (t *txn) cancel() {
	t.insert = t.rowOf(t.rid, Hold{CreatedAt: t.now}, StateCancelled)
	t.row = t.insert
}

// rowOf returns the row of reservation id with hold h's fields and state, and
// no static column.
func (t *txn) rowOf(id string, h Hold, state State) *Stock {
	return &Stock{ProductID: t.pid, ReservationID: id, Quantity: h.Quantity, State: state, ExpiresAt: h.ExpiresAt, CreatedAt: h.CreatedAt}
}

// dirty reports whether the attempt has anything to write.
func (t *txn) dirty() bool { return t.stock || t.insert != nil || len(t.rows) > 0 }

// exec writes the changes as one conditional batch in the product's partition:
// the static columns IF version is the one read (IF it is null for a product
// without stock yet), the rows, and the inserted row IF NOT EXISTS. A batch not
// applied returns an error matching orm.ErrConflict; one whose answer was lost, one
// matching orm.ErrUncertain.
func (t *txn) exec(ctx context.Context) error {
	s := t.s
	b := s.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{MaxPartitions: 1})
	w := s.stock.Batch(b)
	ttl := orm.WithTTL(s.cfg.Retention)
	var errs []error
	if t.stock {
		conds := []orm.Predicate{orm.Eq("version", t.version)}
		if !t.exists {
			conds = []orm.Predicate{orm.Eq("version", nil)}
		}
		changes := []orm.Change{
			orm.Set("version", t.version+1),
			orm.Set("updated_at", t.now),
		}
		if !t.exists || t.onHand != t.readOnHand {
			changes = append(changes, orm.Set("on_hand", int32(t.onHand)))
		}
		if !t.exists || t.available != t.readAvailable {
			changes = append(changes, orm.Set("available", int32(t.available)))
		}
		if t.setPolicy {
			changes = append(changes, orm.Set("auto_reorder", t.policy.AutoReorder),
				orm.Set("reorder_threshold", int32(t.policy.Threshold)), orm.Set("reorder_quantity", int32(t.policy.Quantity)))
		}
		switch {
		case t.reorder != "":
			// Redundant with the version (which a purchase order bumps), and
			// what makes "at most one open" evident in the statement.
			conds = append(conds, orm.Eq("open_purchase_order", nil))
			changes = append(changes, orm.Set("open_purchase_order", t.reorder))
		case t.clearPO:
			changes = append(changes, orm.Set("open_purchase_order", nil))
		}
		if len(t.added) > 0 {
			changes = append(changes, orm.Add("holds", t.added))
		}
		if t.change != "" {
			changes = append(changes, orm.Set("last_change", t.change))
		}
		errs = append(errs, w.PatchIf(ctx, []any{t.pid}, conds, changes))
		if len(t.removed) > 0 {
			// A statement of its own: one UPDATE cannot both add to and remove
			// from a collection.
			errs = append(errs, w.Patch(ctx, []any{t.pid}, []orm.Change{orm.Remove("holds", t.removed)}))
		}
	}
	for _, r := range t.rows {
		errs = append(errs, w.Insert(ctx, r, ttl))
	}
	if t.insert != nil {
		errs = append(errs, w.InsertIfNotExists(ctx, t.insert, ttl))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("inventory: product %q: %w", t.pid, err)
	}
	if err := b.Exec(ctx); err != nil {
		return fmt.Errorf("inventory: product %q: %w", t.pid, err)
	}
	return nil
}

// change runs decide on product pid's partition (with rid's row, when rid is not
// empty) and writes what it decided, again and again while another change gets
// there first. Each attempt reads afresh, releases the holds that expired (see
// expireDue), and calls decide, which changes the txn through its methods or
// returns a refusal (it may do both only when expiry has written). A batch not
// applied is tried again on a fresh read; one whose outcome is unknown too, the
// read being at SERIAL consistency from then on, so decide sees what it did (a
// lightweight transaction is never sent again blind: each attempt is conditioned
// on the state it read). change returns the last attempt and decide's error.
func (s *Service) change(ctx context.Context, pid, rid string, decide func(*txn) error) (*txn, error) {
	var (
		prior, last *txn
		refusal     error
	)
	err := retry.Do(ctx, s.policy, func(ctx context.Context, _ int) error {
		t, err := s.read(ctx, pid, rid, prior != nil)
		if err != nil {
			return err
		}
		t.prior = prior
		t.expireDue(maxExpirePerChange)
		refusal = decide(t)
		if t.dirty() {
			switch err := s.execute(t, ctx); {
			case errors.Is(err, orm.ErrConflict):
				return fmt.Errorf("%w: %w", ErrContended, err)
			case errors.Is(err, orm.ErrUncertain):
				if prior == nil {
					prior = t
				}
				return err
			case err != nil:
				return err
			}
		}
		last = t
		return nil
	})
	if err != nil {
		if prior != nil && !errors.Is(err, orm.ErrUncertain) {
			err = fmt.Errorf("%w (an earlier attempt's outcome is unknown: %w)", err, orm.ErrUncertain)
		}
		return nil, err
	}
	return last, refusal
}

// transient reports whether err is worth another attempt: a change that another
// got ahead of, a write whose outcome a read will tell, a read that timed out, a
// cluster short of replicas.
func transient(err error) bool {
	return errors.Is(err, ErrContended) || errors.Is(err, orm.ErrUncertain) ||
		errors.Is(err, orm.ErrTimeout) || errors.Is(err, orm.ErrUnavailable)
}

// reservation returns rid's row as a Reservation.
func (t *txn) reservation() Reservation {
	r := Reservation{ProductID: t.pid, ReservationID: t.rid}
	if t.row != nil {
		r.Quantity, r.State, r.ExpiresAt, r.CreatedAt = int(t.row.Quantity), t.row.State, t.row.ExpiresAt, t.row.CreatedAt
	}
	return r
}

// level returns the stock as the txn shows it.
func (t *txn) level() Level {
	l := Level{ProductID: t.pid, OnHand: int(t.onHand), Available: int(t.available), Version: t.version, UpdatedAt: t.updatedAt,
		Reorder: t.policy, OpenPurchaseOrder: t.openPO, Reservations: []Reservation{}}
	if t.stock {
		l.Version, l.UpdatedAt = t.version+1, t.now
	}
	for _, id := range slices.Sorted(maps.Keys(t.holds)) {
		h := t.holds[id]
		l.Held += int(h.Quantity)
		l.Reservations = append(l.Reservations, Reservation{ProductID: t.pid, ReservationID: id, Quantity: int(h.Quantity), State: StateHeld, ExpiresAt: h.ExpiresAt, CreatedAt: h.CreatedAt})
	}
	return l
}

// refuse returns a *ProductError of kind err about rid's row in the product.
func (t *txn) refuse(err error) *ProductError {
	e := &ProductError{Err: err, ProductID: t.pid, ReservationID: t.rid}
	if t.row != nil {
		e.State = t.row.State
	}
	return e
}
