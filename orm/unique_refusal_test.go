package orm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Claimant has a unique email, a clustering column and a free text column, so that a
// write can be refused for reasons unrelated to its unique value.
type Claimant struct {
	ID    orm.UUID `cql:"id" orm:"pk"`
	Slot  string   `cql:"slot" orm:"ck"`
	Email string   `cql:"email" orm:"unique"`
	Note  string   `cql:"note"`
}

// ClaimantInt reads the claimant table with note as an int: writing it with a table
// whose note is text fails to marshal, after the email was claimed.
type ClaimantInt struct {
	ID    orm.UUID `cql:"id" orm:"pk"`
	Slot  string   `cql:"slot" orm:"ck"`
	Email string   `cql:"email" orm:"unique"`
	Note  int32    `cql:"note"`
}

// TestUniqueReleasedAfterRefusal checks that a write the server (or the driver)
// refuses for a reason other than a conflict gives its unique claims back at once:
// another row can take the value immediately.
func TestUniqueReleasedAfterRefusal(t *testing.T) {
	db := openDB(t)
	claimants := newModel[Claimant](t, db, orm.TableName("claimant_refused"))
	wrongType, err := orm.NewModel[ClaimantInt](db, orm.TableName("claimant_refused"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		write func(email string) error
	}{
		{"ttl beyond 20 years", func(email string) error {
			return claimants.Insert(t.Context(), &Claimant{ID: orm.NewUUID(), Slot: "a", Email: email},
				orm.WithTTL(21*365*24*time.Hour))
		}},
		{"invalid utf-8 in another column", func(email string) error {
			return claimants.Insert(t.Context(), &Claimant{ID: orm.NewUUID(), Slot: "a", Email: email, Note: "bad \xff\xfe"})
		}},
		{"clustering value over 64 KiB", func(email string) error {
			return claimants.Insert(t.Context(), &Claimant{ID: orm.NewUUID(), Slot: strings.Repeat("s", 70000), Email: email})
		}},
		{"update with ttl beyond 20 years", func(email string) error {
			c := Claimant{ID: orm.NewUUID(), Slot: "a", Email: "before-" + email}
			if err := claimants.Insert(t.Context(), &c); err != nil {
				return err
			}
			c.Email = email
			return claimants.Update(t.Context(), &c, orm.WithTTL(21*365*24*time.Hour))
		}},
		{"marshal error from a wrong Go type", func(email string) error {
			return wrongType.Insert(t.Context(), &ClaimantInt{ID: orm.NewUUID(), Slot: "a", Email: email, Note: 7})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email := orm.NewUUID().String() + "@example.com"
			refusal := tc.write(email)
			if refusal == nil {
				t.Fatal("the write succeeded; want a refusal")
			}
			if errors.Is(refusal, orm.ErrUncertain) || errors.Is(refusal, orm.ErrConflict) {
				t.Fatalf("got %v; want a definite refusal", refusal)
			}
			other := Claimant{ID: orm.NewUUID(), Slot: "b", Email: email}
			if err := claimants.Insert(t.Context(), &other); err != nil {
				t.Fatalf("after the refused write (%v), another row cannot take its email: %v", refusal, err)
			}
		})
	}
}

// TestUniqueValueTooLong checks that a unique value over the 64 KiB key limit of its
// lookup table is refused before anything is claimed, naming table, constraint and
// columns.
func TestUniqueValueTooLong(t *testing.T) {
	db := openDB(t)
	members := newModel[Member](t, db, orm.TableName("member_long"))
	tests := []struct {
		name, constraint, columns string
		row                       Member
	}{
		{"one column", "email", "email", Member{Email: strings.Repeat("e", 65536)}},
		{"group", "org_handle", "org, handle", Member{Org: strings.Repeat("o", 32767), Handle: strings.Repeat("h", 32767)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.ID = orm.NewUUID()
			err := members.Insert(t.Context(), &tc.row)
			if !errors.Is(err, orm.ErrInvalidValue) {
				t.Fatalf("got %v; want ErrInvalidValue", err)
			}
			for _, want := range []string{"member_long", "unique constraint " + tc.constraint, "on " + tc.columns, "member_long_by_" + tc.constraint} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
	if n := lookupRows(t, "member_long_by_email") + lookupRows(t, "member_long_by_org_handle"); n != 0 {
		t.Fatalf("%d lookup rows left; want none", n)
	}
	// At the limit the value is accepted.
	ok := Member{ID: orm.NewUUID(), Email: strings.Repeat("e", 65535)}
	if err := members.Insert(t.Context(), &ok); err != nil {
		t.Fatalf("a value of 65535 bytes: %v", err)
	}
}
