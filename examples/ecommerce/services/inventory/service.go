package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// giveBackTimeout bounds the release of what a failed Reserve held, which runs
// even when the caller's context has ended.
const giveBackTimeout = 30 * time.Second

// Service keeps the stock of products and the reservations made on it. It is safe
// for concurrent use, by any number of goroutines and processes: every change to a
// product is a conditional batch in the product's partition, tried again on a
// fresh read when another change got there first.
//
// On a tenanted DB (orm.DB.WithTenancy, or the tenant registry's DB) every call
// runs for the tenant of its context, and fails with an error matching
// tenant.ErrNoTenant without one; the same product id in two tenants is two
// stocks.
type Service struct {
	db     *orm.DB
	cfg    Config
	policy retry.Policy
	stock  *orm.Model[Stock]
	expiry *orm.Model[expiryEntry]
	cursor *orm.Model[expiryCursor]
	orders *orm.Model[PurchaseOrder]
	// execute writes an attempt's batch: (*txn).exec, which the tests wrap to
	// lose answers.
	execute func(*txn, context.Context) error
}

// New returns the service on db (its keyspace holds the tables; call Sync once),
// or the error of cfg.Validate.
func New(db *orm.DB, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("inventory: New: nil DB")
	}
	var opts []orm.ModelOption
	if cfg.Feed != nil {
		opts = append(opts, orm.RecordChanges(cfg.Feed))
	}
	stock, err := orm.NewModel[Stock](db, opts...)
	if err != nil {
		return nil, err
	}
	expiry, err := orm.NewModel[expiryEntry](db)
	if err != nil {
		return nil, err
	}
	cursor, err := orm.NewModel[expiryCursor](db)
	if err != nil {
		return nil, err
	}
	orders, err := orm.NewModel[PurchaseOrder](db)
	if err != nil {
		return nil, err
	}
	return &Service{
		db:      db,
		cfg:     cfg,
		policy:  retry.Policy{If: transient, MaxAttempts: cfg.Attempts, Backoff: cfg.Backoff},
		stock:   stock,
		expiry:  expiry,
		cursor:  cursor,
		orders:  orders,
		execute: (*txn).exec,
	}, nil
}

// Models returns the service's models, for a registry.Schema.
func (s *Service) Models() []orm.SchemaModel {
	return []orm.SchemaModel{s.stock, s.expiry, s.cursor, s.orders}
}

// Sync creates the service's tables (in ctx's tenant's keyspace on a tenanted DB,
// the shared one without a tenant).
func (s *Service) Sync(ctx context.Context) error {
	return s.db.Sync(ctx, s.Models()...)
}

// Get returns product productID's stock as stored, with its held reservations.
// It fails with ErrUnknownProduct when no stock was ever set for it.
func (s *Service) Get(ctx context.Context, productID string) (Level, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if err := f.err(); err != nil {
		return Level{}, err
	}
	t, err := s.read(ctx, productID, "", false)
	if err != nil {
		return Level{}, err
	}
	if !t.exists {
		return Level{}, t.refuse(ErrUnknownProduct)
	}
	return t.level(), nil
}

// Reservation returns the row of reservation reservationID in product productID,
// or an error matching orm.ErrNotFound.
func (s *Service) Reservation(ctx context.Context, productID, reservationID string) (Reservation, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	checkID(f, "reservation_id", reservationID)
	if err := f.err(); err != nil {
		return Reservation{}, err
	}
	t, err := s.read(ctx, productID, reservationID, false)
	if err != nil {
		return Reservation{}, err
	}
	if t.row == nil {
		return Reservation{}, fmt.Errorf("inventory: reservation %q of product %q: %w", reservationID, productID, orm.ErrNotFound)
	}
	return t.reservation(), nil
}

// Check reports whether every item could be reserved now: the product exists and
// has at least the quantity available (holds whose time has passed count as
// available). It reads and changes nothing; the first product, in id order, that
// fails gives the error: ErrUnknownProduct or ErrInsufficient.
func (s *Service) Check(ctx context.Context, items []Item) error {
	f := fields{}
	checkItems(f, items)
	if err := f.err(); err != nil {
		return err
	}
	for _, it := range sortItems(items) {
		t, err := s.read(ctx, it.ProductID, "", false)
		if err != nil {
			return err
		}
		t.expireDue(len(t.holds))
		if err := t.reserveRefusal(it.Quantity); err != nil {
			return err
		}
	}
	return nil
}

// SetStock sets product productID's units on hand (creating its stock if it has
// none), keeping its holds: what is available changes by the difference. It fails
// with ErrInsufficient when that would take away more units than are available.
func (s *Service) SetStock(ctx context.Context, productID string, onHand int) (Level, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if onHand < 0 || onHand > MaxOnHand {
		f.add("on_hand", fmt.Sprintf("must be from 0 to %d", MaxOnHand))
	}
	if err := f.err(); err != nil {
		return Level{}, err
	}
	t, err := s.change(ctx, productID, "", func(t *txn) error {
		d := int64(onHand) - t.onHand
		if t.available+d < 0 {
			e := t.refuse(ErrInsufficient)
			e.Requested, e.Available = int(-d), int(t.available)
			return fmt.Errorf("%w: on hand %d would leave fewer units than are held", e, onHand)
		}
		t.onHand, t.available, t.stock = int64(onHand), t.available+d, true
		return nil
	})
	if err != nil {
		return Level{}, err
	}
	return t.level(), nil
}

// Restock adds units to product productID's stock (creating it if it has none):
// on hand and available grow by add. It is applied once: a write whose outcome was
// lost is recognised by the id the change records, and when another Restock of
// the product has landed since, so that it cannot tell, Restock fails with an
// error matching orm.ErrUncertain and leaves the caller to read the level.
func (s *Service) Restock(ctx context.Context, productID string, add int) (Level, error) {
	f := fields{}
	checkID(f, "product_id", productID)
	if add < 1 || add > MaxQuantity {
		f.add("quantity", fmt.Sprintf("must be from 1 to %d", MaxQuantity))
	}
	if err := f.err(); err != nil {
		return Level{}, err
	}
	id := orm.NewUUID().String()
	t, err := s.change(ctx, productID, "", func(t *txn) error {
		switch {
		case t.lastChange == id:
			return nil // applied by an attempt whose answer was lost
		case t.prior != nil && t.lastChange != t.prior.lastChange:
			return fmt.Errorf("inventory: restock of product %q: another restock landed after an attempt whose outcome is unknown: read the level: %w", productID, orm.ErrUncertain)
		case t.onHand+int64(add) > MaxOnHand:
			return &ValidationError{Fields: map[string]string{"quantity": fmt.Sprintf("on hand would exceed %d", MaxOnHand)}}
		}
		t.onHand, t.available, t.change, t.stock = t.onHand+int64(add), t.available+int64(add), id, true
		return nil
	})
	if err != nil {
		return Level{}, err
	}
	return t.level(), nil
}

// Reserve holds the items for reservation reservationID until ttl has passed
// (Config.DefaultTTL when ttl is 0; at most Config.MaxTTL), product by product in
// id order, each in one conditional batch that can never take more units than are
// available. It returns each product's reservation.
//
// It is idempotent per reservation id and product: a product already held or
// committed under the id is reported as it is (with the quantity first held),
// without holding more. A product whose reservation was released or cancelled (a
// Release came first) is refused with ErrCompensated, one that expired with
// ErrExpired; a product short of units with ErrInsufficient, an unknown one with
// ErrUnknownProduct, each naming the product. After such a refusal Reserve
// releases what the reservation holds in the other products, so a failed Reserve
// leaves nothing held. After any other failure (a timeout, contention, ctx ending)
// the holds it made stay, for a repeated call to complete, or for Release or
// their expiry to give back.
func (s *Service) Reserve(ctx context.Context, reservationID string, items []Item, ttl time.Duration) ([]Reservation, error) {
	f := fields{}
	checkID(f, "reservation_id", reservationID)
	checkItems(f, items)
	if ttl == 0 {
		ttl = s.cfg.DefaultTTL
	}
	if ttl < time.Second || ttl > s.cfg.MaxTTL {
		f.add("ttl", fmt.Sprintf("must be from 1s to %s", s.cfg.MaxTTL))
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	items = sortItems(items)
	expiresAt := time.Now().UTC().Add(ttl).Truncate(time.Millisecond)
	if err := s.index(ctx, reservationID, items, expiresAt); err != nil {
		return nil, err
	}
	out := make([]Reservation, 0, len(items))
	var held []string
	for _, it := range items {
		r, err := s.reserve(ctx, reservationID, it, expiresAt)
		if err != nil {
			if refused(err) && len(held) > 0 {
				gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
				_, gerr := s.release(gctx, reservationID, held)
				cancel()
				if gerr != nil {
					err = errors.Join(err, fmt.Errorf("inventory: give back reservation %q: %w", reservationID, gerr))
				}
			}
			return nil, err
		}
		out = append(out, r)
		if r.State == StateHeld {
			held = append(held, it.ProductID)
		}
	}
	return out, nil
}

// reserve holds one item for reservation rid, expiring at expiresAt. A refusal
// for want of units made while more expired holds are left than one change
// releases is decided again once those are released.
func (s *Service) reserve(ctx context.Context, rid string, it Item, expiresAt time.Time) (Reservation, error) {
	for {
		t, err := s.change(ctx, it.ProductID, rid, func(t *txn) error {
			if t.row != nil {
				switch t.row.State {
				case StateHeld, StateCommitted:
					return nil // a duplicate
				case StateExpired:
					return t.refuse(ErrExpired)
				default:
					return t.refuse(ErrCompensated)
				}
			}
			if err := t.reserveRefusal(it.Quantity); err != nil {
				return err
			}
			t.hold(it.Quantity, expiresAt)
			return nil
		})
		switch {
		case errors.Is(err, ErrInsufficient) && t != nil && t.expired == maxExpirePerChange:
			continue
		case err != nil:
			return Reservation{}, err
		}
		return t.reservation(), nil
	}
}

// reserveRefusal returns why q units of the product cannot be held now, or nil.
func (t *txn) reserveRefusal(q int) error {
	switch {
	case !t.exists:
		return t.refuse(ErrUnknownProduct)
	case t.available < int64(q):
		e := t.refuse(ErrInsufficient)
		e.Requested, e.Available = q, int(t.available)
		return e
	}
	return nil
}

// refused reports whether err is a definite refusal of a product, after which a
// reservation cannot go on.
func refused(err error) bool {
	return errors.Is(err, ErrInsufficient) || errors.Is(err, ErrUnknownProduct) ||
		errors.Is(err, ErrCompensated) || errors.Is(err, ErrExpired)
}

// index writes the expiry index rows of a reservation's items, all in the bucket
// of expiresAt: one partition, so one unlogged batch. It runs before the holds, so
// no hold lacks its row; the write is idempotent, so it is tried again freely.
func (s *Service) index(ctx context.Context, rid string, items []Item, expiresAt time.Time) error {
	return retry.Do(ctx, s.policy, func(ctx context.Context, _ int) error {
		b := s.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: MaxItems})
		w := s.expiry.Batch(b)
		for _, it := range items {
			e := expiryEntry{Bucket: s.bucketOf(expiresAt), ExpiresAt: expiresAt, ProductID: it.ProductID, ReservationID: rid}
			if err := w.Insert(ctx, &e, orm.WithTTL(s.cfg.Retention)); err != nil {
				return fmt.Errorf("inventory: index reservation %q: %w", rid, err)
			}
		}
		if err := b.Exec(ctx); err != nil {
			return fmt.Errorf("inventory: index reservation %q: %w", rid, err)
		}
		return nil
	})
}

// Release gives back reservation reservationID in each product (the compensation
// of Reserve, and of Commit): a held reservation is released and its units are
// available again; a committed one has its sale undone (back on hand and
// available); one released, cancelled or expired already is left as it is. A
// product where the reservation does not exist yet (the release came first) gets
// a cancelled row, so that the late Reserve is refused with ErrCompensated and
// nothing is left held. It is idempotent. It goes on past a product that fails
// and returns the failures joined, with the reservations of the others.
func (s *Service) Release(ctx context.Context, reservationID string, productIDs []string) ([]Reservation, error) {
	f := fields{}
	checkID(f, "reservation_id", reservationID)
	checkProducts(f, productIDs)
	if err := f.err(); err != nil {
		return nil, err
	}
	return s.release(ctx, reservationID, sortIDs(productIDs))
}

func (s *Service) release(ctx context.Context, rid string, pids []string) ([]Reservation, error) {
	out := make([]Reservation, 0, len(pids))
	var errs []error
	for _, pid := range pids {
		t, err := s.change(ctx, pid, rid, func(t *txn) error {
			_, held := t.holds[rid]
			switch {
			case held:
				t.settle(rid, StateReleased)
			case t.row == nil:
				t.cancel()
			case t.row.State == StateCommitted:
				t.unsell()
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("inventory: release reservation %q of product %q: %w", rid, pid, err))
			continue
		}
		out = append(out, t.reservation())
	}
	return out, errors.Join(errs...)
}

// Commit turns reservation reservationID's holds in the products into sales: on
// hand goes down by each quantity, available stays. A product already committed is
// left as it is. It first checks every product, and commits none when one is not
// held (ErrNotHeld: never reserved, released or cancelled) or expired
// (ErrExpired). A failure between two products (a timeout, a change racing the
// check) leaves the earlier ones committed: Release undoes them.
func (s *Service) Commit(ctx context.Context, reservationID string, productIDs []string) ([]Reservation, error) {
	f := fields{}
	checkID(f, "reservation_id", reservationID)
	checkProducts(f, productIDs)
	if err := f.err(); err != nil {
		return nil, err
	}
	pids := sortIDs(productIDs)
	for _, pid := range pids {
		t, err := s.read(ctx, pid, reservationID, false)
		if err != nil {
			return nil, err
		}
		t.expireDue(len(t.holds))
		if err := t.commitRefusal(); err != nil {
			return nil, err
		}
	}
	out := make([]Reservation, 0, len(pids))
	for _, pid := range pids {
		t, err := s.change(ctx, pid, reservationID, func(t *txn) error {
			if err := t.commitRefusal(); err != nil {
				return err
			}
			if _, held := t.holds[reservationID]; held {
				t.settle(reservationID, StateCommitted)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, t.reservation())
	}
	return out, nil
}

// commitRefusal returns why rid's reservation cannot be committed, or nil for one
// held or committed already.
func (t *txn) commitRefusal() error {
	if _, held := t.holds[t.rid]; held {
		return nil
	}
	switch {
	case t.row == nil:
		return t.refuse(ErrNotHeld)
	case t.row.State == StateCommitted:
		return nil
	case t.row.State == StateExpired:
		return t.refuse(ErrExpired)
	}
	return t.refuse(ErrNotHeld)
}

// checkID records what is wrong with id, the value of field name.
func checkID(f fields, name, id string) {
	switch {
	case id == "":
		f.add(name, "required")
	case len(id) > MaxIDLen:
		f.add(name, fmt.Sprintf("longer than %d bytes", MaxIDLen))
	case !utf8.ValidString(id):
		f.add(name, "not valid UTF-8")
	}
}

// checkItems records what is wrong with the items of a request.
func checkItems(f fields, items []Item) {
	switch {
	case len(items) == 0:
		f.add("items", "at least one item is required")
		return
	case len(items) > MaxItems:
		f.add("items", fmt.Sprintf("more than %d items", MaxItems))
		return
	}
	seen := make(map[string]int, len(items))
	for i, it := range items {
		name := fmt.Sprintf("items[%d]", i)
		checkID(f, name+".product_id", it.ProductID)
		if j, dup := seen[it.ProductID]; dup {
			f.add(name+".product_id", fmt.Sprintf("also in items[%d]", j))
		} else {
			seen[it.ProductID] = i
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			f.add(name+".quantity", fmt.Sprintf("must be from 1 to %d", MaxQuantity))
		}
	}
}

// checkProducts records what is wrong with the product ids of a request.
func checkProducts(f fields, ids []string) {
	switch {
	case len(ids) == 0:
		f.add("product_ids", "at least one product is required")
		return
	case len(ids) > MaxItems:
		f.add("product_ids", fmt.Sprintf("more than %d products", MaxItems))
		return
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		name := fmt.Sprintf("product_ids[%d]", i)
		checkID(f, name, id)
		if j, dup := seen[id]; dup {
			f.add(name, fmt.Sprintf("also in product_ids[%d]", j))
		} else {
			seen[id] = i
		}
	}
}

// sortItems returns a copy of items in product id order: every call takes the
// products in the same order.
func sortItems(items []Item) []Item {
	return slices.SortedFunc(slices.Values(items), func(a, b Item) int { return strings.Compare(a.ProductID, b.ProductID) })
}

func sortIDs(ids []string) []string { return slices.Sorted(slices.Values(ids)) }
