package orm_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type Member struct {
	ID     orm.UUID `cql:"id" orm:"pk"`
	Email  string   `cql:"email" orm:"unique"`
	Org    string   `cql:"org" orm:"unique=org_handle"`
	Handle string   `cql:"handle" orm:"unique=org_handle"`
	Name   string   `cql:"name"`
}

// lookupRows counts the rows of a unique lookup table.
func lookupRows(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := env.Session(t).Query(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUniqueEmailRace(t *testing.T) {
	db := openDB(t)
	members := newModel[Member](t, db, orm.TableName("member_race"))
	ctx := t.Context()
	const racers = 100
	var wg sync.WaitGroup
	results := make(chan error, racers)
	winners := make(chan orm.UUID, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := Member{ID: orm.NewUUID(), Email: "same@example.com", Name: fmt.Sprint("racer ", i)}
			err := members.Insert(ctx, &m)
			if err == nil {
				winners <- m.ID
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	close(winners)
	won, lost := 0, 0
	for err := range results {
		var ce *orm.ConflictError
		switch {
		case err == nil:
			won++
		case errors.As(err, &ce) && ce.Constraint == "email":
			lost++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != racers-1 {
		t.Fatalf("%d won, %d lost the email", won, lost)
	}
	// Exactly one row exists, and the lookup table holds exactly its claim.
	n, err := members.Query().AllowFiltering().Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d member rows, want 1", n)
	}
	if got := lookupRows(t, "member_race_by_email"); got != 1 {
		t.Fatalf("%d lookup rows, want 1 (orphans left)", got)
	}
	winner := <-winners
	m, err := members.Get(ctx, winner)
	if err != nil || m.Email != "same@example.com" {
		t.Fatalf("winner row %+v, %v", m, err)
	}
}

func TestUniqueMovesAndReleases(t *testing.T) {
	db := openDB(t)
	members := newModel[Member](t, db)
	ctx := t.Context()
	a := Member{ID: orm.NewUUID(), Email: "a@example.com", Org: "acme", Handle: "ann"}
	b := Member{ID: orm.NewUUID(), Email: "b@example.com", Org: "acme", Handle: "bob"}
	for _, m := range []*Member{&a, &b} {
		if err := members.Insert(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Re-inserting a row with its own values is no conflict.
	if err := members.Insert(ctx, &a); err != nil {
		t.Fatalf("re-insert: %v", err)
	}
	// A composite constraint: same org, same handle.
	c := Member{ID: orm.NewUUID(), Email: "c@example.com", Org: "acme", Handle: "ann"}
	var ce *orm.ConflictError
	if err := members.Insert(ctx, &c); !errors.As(err, &ce) || ce.Constraint != "org_handle" {
		t.Fatalf("duplicate org+handle: %v", err)
	}
	// Its email claim was rolled back: c@example.com is free.
	c.Handle = "cat"
	if err := members.Insert(ctx, &c); err != nil {
		t.Fatalf("after rollback: %v", err)
	}
	// Moving a's email frees the old one.
	a.Email = "a2@example.com"
	if err := members.Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	d := Member{ID: orm.NewUUID(), Email: "a@example.com"}
	if err := members.Insert(ctx, &d); err != nil {
		t.Fatalf("old email not released on update: %v", err)
	}
	// Taking b's email by update conflicts and leaves a as it was.
	a.Email = "b@example.com"
	if err := members.Update(ctx, &a); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("update to a taken email: %v", err)
	}
	got, _ := members.Get(ctx, a.ID)
	if got.Email != "a2@example.com" {
		t.Fatalf("failed update changed the row: %+v", got)
	}
	// Deleting releases.
	if err := members.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	e := Member{ID: orm.NewUUID(), Email: "b@example.com", Org: "acme", Handle: "bob"}
	if err := members.Insert(ctx, &e); err != nil {
		t.Fatalf("claims not released on delete: %v", err)
	}
	// Patching a unique column is refused.
	if err := members.Patch(ctx, []any{e.ID}, []orm.Change{orm.Set("email", "z@example.com")}); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("patch of a unique column: %v", err)
	}
	if got := lookupRows(t, "member_by_email"); got != 4 {
		t.Fatalf("%d email claims for 4 members with emails", got)
	}
}

// Inserting over an existing row with a new unique value moves the claim: the old
// value is free at once, and no orphan lookup row is left.
func TestUniqueMovesOnInsertOverExistingRow(t *testing.T) {
	db := openDB(t)
	members := newModel[Member](t, db, orm.TableName("member_reinsert"))
	ctx := t.Context()
	a := Member{ID: orm.NewUUID(), Email: "old@example.com"}
	if err := members.Insert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	a.Email = "new@example.com"
	if err := members.Insert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if got := lookupRows(t, "member_reinsert_by_email"); got != 1 {
		t.Fatalf("%d email claims for one member", got)
	}
	b := Member{ID: orm.NewUUID(), Email: "old@example.com"}
	if err := members.Insert(ctx, &b); err != nil {
		t.Fatalf("the old email was not freed: %v", err)
	}
}

type Handle struct {
	ID     orm.UUID `cql:"id" orm:"pk"`
	Handle *string  `cql:"handle" orm:"unique"`
	Name   string   `cql:"name"`
}

// An update that leaves a unique pointer field nil leaves the stored value, and its
// claim, in place; with WithNulls the value is cleared and the claim released.
func TestUniqueNilPointerLeftAsStored(t *testing.T) {
	db := openDB(t)
	handles := newModel[Handle](t, db)
	ctx := t.Context()
	x := "ada"
	a := Handle{ID: orm.NewUUID(), Handle: &x, Name: "Ada"}
	if err := handles.Insert(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := handles.Update(ctx, &Handle{ID: a.ID, Name: "Ada L."}); err != nil {
		t.Fatal(err)
	}
	got, _ := handles.Get(ctx, a.ID)
	if got.Handle == nil || *got.Handle != "ada" {
		t.Fatalf("row after a nil-pointer update: %+v", got)
	}
	b := Handle{ID: orm.NewUUID(), Handle: &x}
	if err := handles.Insert(ctx, &b); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("a second row took a held handle: %v", err)
	}
	if err := handles.Update(ctx, &Handle{ID: a.ID, Name: "Ada L."}, orm.WithNulls()); err != nil {
		t.Fatal(err)
	}
	if err := handles.Insert(ctx, &b); err != nil {
		t.Fatalf("the handle cleared with WithNulls was not released: %v", err)
	}
}

// A claim left by a writer that died before writing its row is taken over once stale;
// a fresh one is not.
func TestUniqueStaleClaimTakenOver(t *testing.T) {
	db := openDB(t)
	members := newModel[Member](t, db, orm.TableName("member_stale"))
	ctx := t.Context()
	claimAt := func(email string, at time.Time) {
		t.Helper()
		err := env.Session(t).Query(`INSERT INTO member_stale_by_email (email, owner_id, claimed_at) VALUES (?, ?, ?)`,
			email, orm.NewUUID(), at).Exec()
		if err != nil {
			t.Fatal(err)
		}
	}
	claimAt("fresh@example.com", time.Now())
	if err := members.Insert(ctx, &Member{ID: orm.NewUUID(), Email: "fresh@example.com"}); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("a fresh claim was taken: %v", err)
	}
	claimAt("stale@example.com", time.Now().Add(-2*orm.StaleClaimAge))
	m := Member{ID: orm.NewUUID(), Email: "stale@example.com"}
	if err := members.Insert(ctx, &m); err != nil {
		t.Fatalf("a stale claim was not taken over: %v", err)
	}
	var owner orm.UUID
	if err := env.Session(t).Query(`SELECT owner_id FROM member_stale_by_email WHERE email = 'stale@example.com'`).Scan(&owner); err != nil || owner != m.ID {
		t.Fatalf("claim owner %v %v, want %v", owner, err, m.ID)
	}
}

// Booking has a unique date and a date key, so its lookup statements bind dates.
type Booking struct {
	Day  time.Time `cql:"day" orm:"pk,date"`
	Room string    `cql:"room" orm:"pk"`
	Slot time.Time `cql:"slot" orm:"date,unique"`
}

// TestUniqueDateBoundAsStored checks that a unique date is claimed by the calendar day
// its row stores (the day in the value's own zone), like every other bound value: two
// rows holding the same stored day conflict, and a deleted row frees its day.
func TestUniqueDateBoundAsStored(t *testing.T) {
	db := openDB(t)
	bookings := newModel[Booking](t, db)
	ctx := t.Context()
	east := time.FixedZone("UTC+13", 13*3600)
	// 1 March in UTC+13 at 00:30 is still 29 February in UTC.
	first := Booking{Day: time.Date(1969, 12, 31, 0, 30, 0, 0, east), Room: "a", Slot: time.Date(2024, 3, 1, 0, 30, 0, 0, east)}
	if err := bookings.Insert(ctx, &first); err != nil {
		t.Fatal(err)
	}
	got, err := bookings.Get(ctx, first.Day, "a")
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Slot.Format(time.DateOnly); d != "2024-03-01" {
		t.Fatalf("stored slot %s, want 2024-03-01", d)
	}
	second := Booking{Day: time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), Room: "b", Slot: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}
	if err := bookings.Insert(ctx, &second); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("a second row on the stored day 2024-03-01: %v, want a unique conflict", err)
	}
	if err := bookings.Delete(ctx, first.Day, "a"); err != nil {
		t.Fatal(err)
	}
	if err := bookings.Insert(ctx, &second); err != nil {
		t.Fatalf("the day was not freed by the delete of its owner (keyed by a date): %v", err)
	}
}
