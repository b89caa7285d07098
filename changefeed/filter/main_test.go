package filter_test

import (
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

// Addr is a user-defined type.
type Addr struct {
	Street string `cql:"street"`
}

// Pair is a tuple.
type Pair struct {
	N int32
	S string
}

// Status is a named string type, as models declare enumerations.
type Status string

// Row has a column of every CQL type the ORM maps (counters are in Hits).
type Row struct {
	ID        orm.UUID           `cql:"id" orm:"pk"`
	At        time.Time          `cql:"at" orm:"ck"`
	ASCII     string             `cql:"ascii_col" orm:"ascii"`
	Text      string             `cql:"text_col"`
	Status    Status             `cql:"status"`
	Tiny      int8               `cql:"tiny"`
	Small     int16              `cql:"small"`
	Int       int32              `cql:"int_col"`
	Big       int64              `cql:"big"`
	Varint    *big.Int           `cql:"varint_col"`
	Float     float32            `cql:"float_col"`
	Double    float64            `cql:"double_col"`
	Decimal   *inf.Dec           `cql:"decimal_col"`
	Bool      bool               `cql:"bool_col"`
	UUID      orm.UUID           `cql:"uuid_col"`
	TimeUUID  orm.UUID           `cql:"timeuuid_col" orm:"timeuuid"`
	Timestamp time.Time          `cql:"ts"`
	Date      time.Time          `cql:"date_col" orm:"date"`
	TimeOfDay time.Duration      `cql:"time_col" orm:"time"`
	Duration  orm.Duration       `cql:"duration_col"`
	Blob      []byte             `cql:"blob_col"`
	Inet      net.IP             `cql:"inet_col"`
	List      []int32            `cql:"list_col"`
	Set       []string           `cql:"set_col" orm:"set"`
	Map       map[string]float64 `cql:"map_col"`
	Frozen    []string           `cql:"frozen_col" orm:"frozen"`
	Nested    map[string][]int32 `cql:"nested_col"`
	UDTs      []Addr             `cql:"udts_col"`
	Tuple     Pair               `cql:"tuple_col" orm:"tuple"`
	UDT       Addr               `cql:"udt_col"`
	Vector    []float32          `cql:"vec" orm:"vector=3"`
	Ptr       *string            `cql:"ptr_col"`
}

// Hits is a counter table.
type Hits struct {
	Page  string      `cql:"page" orm:"pk"`
	Count orm.Counter `cql:"count"`
}

func table[T any](t testing.TB) *orm.Table {
	t.Helper()
	db, err := orm.Detached("filter_test")
	if err != nil {
		t.Fatal(err)
	}
	m, err := orm.NewModel[T](db)
	if err != nil {
		t.Fatal(err)
	}
	return m.Table()
}

func parse(t testing.TB, s string) filter.Filter {
	t.Helper()
	f, err := filter.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return f
}

func bind(t testing.TB, f filter.Filter, tab *orm.Table) *filter.Matcher {
	t.Helper()
	m, err := filter.Bind(f, tab)
	if err != nil {
		t.Fatalf("Bind(%s): %v", f, err)
	}
	return m
}

func match(t testing.TB, m *filter.Matcher, row map[string]any) bool {
	t.Helper()
	ok, err := m.Match(row)
	if err != nil {
		t.Fatalf("Match(%v): %v", row, err)
	}
	return ok
}

func ptr[T any](v T) *T { return &v }
