package orm_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type uuidRef struct {
	ID   orm.UUID  `cql:"id"`
	Seen orm.UUID  `cql:"seen" orm:"timeuuid"`
	Opt  *orm.UUID `cql:"opt"`
}

type uuidPair struct {
	A orm.UUID
	B orm.UUID `orm:"timeuuid"`
}

// UUIDs has orm.UUID in every place a CQL value can be: key, timeuuid clustering
// column, pointer, collections, a UDT and a tuple.
type UUIDs struct {
	ID     orm.UUID            `cql:"id" orm:"pk"`
	At     orm.UUID            `cql:"at" orm:"ck,timeuuid"`
	Ptr    *orm.UUID           `cql:"ptr"`
	List   []orm.UUID          `cql:"list"`
	Set    []orm.UUID          `cql:"set" orm:"set"`
	Map    map[orm.UUID]string `cql:"map"`
	Ref    uuidRef             `cql:"ref"`
	Refs   []uuidRef           `cql:"refs"`
	Pair   uuidPair            `cql:"pair" orm:"tuple"`
	AsText string              `cql:"as_text"`
}

func TestUUIDRoundTrip(t *testing.T) {
	db := openDB(t)
	m := newModel[UUIDs](t, db, orm.TableName("uuid_round_trip"))
	p := orm.NewUUID()
	row := UUIDs{
		ID: orm.NewUUID(), At: orm.NewTimeUUID(), Ptr: &p,
		List: []orm.UUID{orm.NewUUID(), orm.NewUUID()}, Set: []orm.UUID{orm.NewUUID()},
		Map:  map[orm.UUID]string{orm.NewUUID(): "x"},
		Ref:  uuidRef{ID: orm.NewUUID(), Seen: orm.NewTimeUUID(), Opt: &p},
		Refs: []uuidRef{{ID: orm.NewUUID(), Seen: orm.NewTimeUUID()}},
		Pair: uuidPair{A: orm.NewUUID(), B: orm.NewTimeUUID()},
	}
	row.AsText = row.ID.String()
	if err := m.Insert(t.Context(), &row); err != nil {
		t.Fatal(err)
	}
	got, err := m.Get(t.Context(), row.ID, row.At)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, row) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, row)
	}
	// Range bounds on a timeuuid clustering column.
	n, err := m.Query().Where(orm.Eq("id", row.ID), orm.Gte("at", orm.MinTimeUUID(row.At.Time())),
		orm.Lte("at", orm.MaxTimeUUID(row.At.Time()))).Count(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("range on the timeuuid: %d rows, %v", n, err)
	}
	// A random UUID is not a timeuuid: refused before it is sent.
	bad := UUIDs{ID: orm.NewUUID(), At: orm.NewUUID()}
	if err := m.Insert(t.Context(), &bad); err == nil || errors.Is(err, orm.ErrUncertain) {
		t.Fatalf("a version 4 UUID in a timeuuid key: %v; want a refusal", err)
	}
}

func TestUUIDText(t *testing.T) {
	const s = "6f1c0d4e-0000-4000-8000-000000000001"
	tests := []struct {
		in      string
		wantErr bool
	}{
		{s, false},
		{"6F1C0D4E-0000-4000-8000-000000000001", false},
		{"not a uuid", true},
		{"", true},
	}
	for _, tc := range tests {
		u, err := orm.ParseUUID(tc.in)
		if tc.wantErr {
			if !errors.Is(err, orm.ErrInvalidValue) {
				t.Errorf("ParseUUID(%q) = %v, %v; want ErrInvalidValue", tc.in, u, err)
			}
			continue
		}
		if err != nil || u.String() != s || u.Version() != 4 {
			t.Errorf("ParseUUID(%q) = %v (version %d), %v", tc.in, u, u.Version(), err)
		}
	}
	u, _ := orm.ParseUUID(s)
	b, err := json.Marshal(map[string]orm.UUID{"id": u})
	if err != nil || string(b) != `{"id":"`+s+`"}` {
		t.Fatalf("JSON: %s, %v", b, err)
	}
	var back map[string]orm.UUID
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != u {
		t.Fatalf("JSON back: %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"id":12}`), &back); err == nil {
		t.Fatal("a JSON number read as a UUID")
	}
	before := time.Now().Add(-time.Second)
	tu := orm.NewTimeUUID()
	if tu.Version() != 1 || tu.Time().Before(before) || tu.Time().After(time.Now().Add(time.Second)) {
		t.Fatalf("NewTimeUUID: version %d time %v", tu.Version(), tu.Time())
	}
	if !u.Time().IsZero() {
		t.Fatalf("a random UUID has time %v", u.Time())
	}
}
