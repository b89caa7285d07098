package filter_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

// scalarCase is a column of a scalar type with three row values lo < mid < hi
// (for an unordered type, three distinct values; hi may be absent) as the ORM
// reads them, and the JSON forms of the filter values.
type scalarCase struct {
	col            string
	lo, mid, hi    any
	jlo, jmid, jhi string
	ordered        bool
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func uuid(s string) orm.UUID {
	u, err := orm.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func scalarCases() []scalarCase {
	tu := func(s string) orm.UUID { return orm.MinTimeUUID(ts(s)) }
	tus := func(s string) string { return `"` + tu(s).String() + `"` }
	u1, u2, u3 := "6f1c0d4e-0000-4000-8000-000000000001", "6f1c0d4e-0000-4000-8000-000000000002", "0f1c0d4e-0000-4000-8000-000000000003"
	return []scalarCase{
		{"ascii_col", "a", "b", "c", `"a"`, `"b"`, `"c"`, true},
		// Byte order, not case or locale: "Zebra" < "apple" < "épée".
		{"text_col", "Zebra", "apple", "épée", `"Zebra"`, `"apple"`, `"épée"`, true},
		{"status", Status("new"), Status("paid"), Status("shipped"), `"new"`, `"paid"`, `"shipped"`, true},
		{"ptr_col", ptr("a"), ptr("b"), ptr("c"), `"a"`, `"b"`, `"c"`, true},
		{"tiny", int8(-5), int8(0), int8(7), "-5", "0", "7", true},
		{"small", int16(-300), int16(1), int16(300), "-300", "1", "300", true},
		{"int_col", int32(-70000), int32(3), int32(70000), "-70000", "3.0", "7e4", true},
		{"big", int64(-1 << 40), int64(1<<53 + 1), int64(1 << 60), "-1099511627776", `"9007199254740993"`, "1152921504606846976", true},
		{"varint_col", big.NewInt(-1), big.NewInt(10), new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil), "-1", "10", `"1000000000000000000000000000000"`, true},
		// 0.1 in JSON is the float32 nearest 0.1, as the row holds it.
		{"float_col", float32(-1.5), float32(0.1), float32(2.5), "-1.5", "0.1", "2.5", true},
		{"double_col", -1e300, 0.1, 1e300, "-1e300", "0.1", "1e300", true},
		// 1.5 equals the row's 1.50.
		{"decimal_col", inf.NewDec(-15, 1), inf.NewDec(150, 2), inf.NewDec(25, 1), "-1.5", "1.5", `"2.5"`, true},
		// The row's sub-millisecond digits are not stored.
		{"ts", ts("2026-01-02T03:04:05.122Z"), ts("2026-01-02T03:04:05.123456Z"), ts("2026-01-02T03:04:05.124Z"),
			`"2026-01-02T03:04:05.122Z"`, `"2026-01-02T04:04:05.123+01:00"`, `"2026-01-02T03:04:05.124Z"`, true},
		{"date_col", ts("2026-02-27T00:00:00Z"), ts("2026-02-28T00:00:00Z"), ts("2026-03-01T00:00:00Z"),
			`"2026-02-27"`, `"2026-02-28T23:30:00-05:00"`, `"2026-03-01"`, true},
		{"time_col", time.Hour, 13*time.Hour + 14*time.Minute + 15*time.Second + 500*time.Millisecond, 23 * time.Hour,
			`"01:00:00"`, `"13:14:15.5"`, `"23:00:00"`, true},
		{"timeuuid_col", tu("2020-01-01T00:00:00Z"), tu("2026-01-01T00:00:00Z"), tu("2030-01-01T00:00:00Z"),
			tus("2020-01-01T00:00:00Z"), tus("2026-01-01T00:00:00Z"), tus("2030-01-01T00:00:00Z"), true},
		{"uuid_col", uuid(u1), uuid(u2), uuid(u3), `"` + u1 + `"`, `"` + strings.ToUpper(u2) + `"`, `"` + u3 + `"`, false},
		{"bool_col", false, true, nil, "false", "true", "", false},
		{"duration_col", orm.Duration{Nanoseconds: 1}, orm.Duration{Months: 14, Days: 2, Nanoseconds: 3}, orm.Duration{Days: 5},
			`"1ns"`, `"1y2mo2d3ns"`, `"5d"`, false},
		// An IPv4-mapped IPv6 address is the IPv4 address, as the driver stores it.
		{"inet_col", net.ParseIP("10.0.0.1"), net.ParseIP("192.0.2.1").To4(), net.ParseIP("2001:db8::1"),
			`"10.0.0.1"`, `"::ffff:192.0.2.1"`, `"2001:db8::1"`, false},
		{"blob_col", []byte{1}, []byte{2, 3}, []byte{255}, `"AQ=="`, `"AgM="`, `"/w=="`, false},
	}
}

// opCase is one operator of the matrix: its filter from the values of a
// scalarCase, and whether it matches the rows lo, mid, hi and missing.
type opCase struct {
	name    string
	ordered bool // applies to ordered types only
	build   func(c scalarCase) filter.Filter
	json    func(c scalarCase) string
	want    [4]bool
}

func lohi(c scalarCase) ([]any, string) {
	if c.hi == nil {
		return []any{c.lo}, "[" + c.jlo + "]"
	}
	return []any{c.lo, c.hi}, "[" + c.jlo + "," + c.jhi + "]"
}

func opCases() []opCase {
	op := func(o string) func(c scalarCase) string {
		return func(c scalarCase) string { return fmt.Sprintf(`{%q: {%q: %s}}`, c.col, o, c.jmid) }
	}
	return []opCase{
		{"eq", false, func(c scalarCase) filter.Filter { return filter.Eq(c.col, c.mid) },
			func(c scalarCase) string { return fmt.Sprintf(`{%q: %s}`, c.col, c.jmid) }, [4]bool{false, true, false, false}},
		{"$eq", false, func(c scalarCase) filter.Filter { return filter.Eq(c.col, c.mid) }, op("$eq"), [4]bool{false, true, false, false}},
		{"$ne", false, func(c scalarCase) filter.Filter { return filter.Ne(c.col, c.mid) }, op("$ne"), [4]bool{true, false, true, true}},
		{"$in", false, func(c scalarCase) filter.Filter { vs, _ := lohi(c); return filter.In(c.col, vs...) },
			func(c scalarCase) string { _, j := lohi(c); return fmt.Sprintf(`{%q: {"$in": %s}}`, c.col, j) }, [4]bool{true, false, true, false}},
		{"$nin", false, func(c scalarCase) filter.Filter { vs, _ := lohi(c); return filter.Nin(c.col, vs...) },
			func(c scalarCase) string { _, j := lohi(c); return fmt.Sprintf(`{%q: {"$nin": %s}}`, c.col, j) }, [4]bool{false, true, false, true}},
		{"$lt", true, func(c scalarCase) filter.Filter { return filter.Lt(c.col, c.mid) }, op("$lt"), [4]bool{true, false, false, false}},
		{"$lte", true, func(c scalarCase) filter.Filter { return filter.Lte(c.col, c.mid) }, op("$lte"), [4]bool{true, true, false, false}},
		{"$gt", true, func(c scalarCase) filter.Filter { return filter.Gt(c.col, c.mid) }, op("$gt"), [4]bool{false, false, true, false}},
		{"$gte", true, func(c scalarCase) filter.Filter { return filter.Gte(c.col, c.mid) }, op("$gte"), [4]bool{false, true, true, false}},
		{"$not $lt", true, func(c scalarCase) filter.Filter { return filter.Not(filter.Lt(c.col, c.mid)) },
			func(c scalarCase) string { return fmt.Sprintf(`{%q: {"$not": {"$lt": %s}}}`, c.col, c.jmid) }, [4]bool{false, true, true, true}},
		{"$exists true", false, func(c scalarCase) filter.Filter { return filter.Exists(c.col, true) },
			func(c scalarCase) string { return fmt.Sprintf(`{%q: {"$exists": true}}`, c.col) }, [4]bool{true, true, true, false}},
		{"$exists false", false, func(c scalarCase) filter.Filter { return filter.Exists(c.col, false) },
			func(c scalarCase) string { return fmt.Sprintf(`{%q: {"$exists": false}}`, c.col) }, [4]bool{false, false, false, true}},
	}
}

// TestOperatorsOnScalarTypes runs every operator on every scalar type, from the
// builders with Go values and from JSON, against rows below, at and above the
// filter's value and a row without the column; ordering operators on a type
// without an order must be refused.
func TestOperatorsOnScalarTypes(t *testing.T) {
	tab := table[Row](t)
	for _, c := range scalarCases() {
		rows := []map[string]any{{c.col: c.lo}, {c.col: c.mid}, {c.col: c.hi}, {"id": orm.NewUUID()}}
		for _, o := range opCases() {
			for _, form := range []string{"go", "json"} {
				t.Run(c.col+"/"+o.name+"/"+form, func(t *testing.T) {
					f := o.build(c)
					if form == "json" {
						f = parse(t, o.json(c))
					}
					m, err := filter.Bind(f, tab)
					if o.ordered && !c.ordered {
						if !errors.Is(err, filter.ErrNotApplicable) || !strings.Contains(err.Error(), "does not apply") {
							t.Fatalf("Bind(%s) = %v, want ErrNotApplicable", f, err)
						}
						return
					}
					if err != nil {
						t.Fatalf("Bind(%s): %v", f, err)
					}
					for i, row := range rows {
						if c.hi == nil && i == 2 {
							continue
						}
						if got := match(t, m, row); got != o.want[i] {
							t.Errorf("%s on %v = %v, want %v", f, row, got, o.want[i])
						}
					}
				})
			}
		}
	}
}

func TestCounter(t *testing.T) {
	tab := table[Hits](t)
	for _, tc := range []struct {
		f    string
		hits orm.Counter
		want bool
	}{
		{`{"count": {"$gte": 100}}`, 100, true},
		{`{"count": {"$gte": 100}}`, 99, false},
		{`{"count": {"$lt": "100"}}`, 99, true},
		{`{"count": 5}`, 5, true},
		{`{"count": 5}`, 6, false},
	} {
		if got := match(t, bind(t, parse(t, tc.f), tab), map[string]any{"count": tc.hits}); got != tc.want {
			t.Errorf("%s on %d = %v, want %v", tc.f, tc.hits, got, tc.want)
		}
	}
}

// TestGoValues covers the Go values a filter takes besides a column's own type:
// other integer types, integers for floats and decimals, times in other zones.
func TestGoValues(t *testing.T) {
	tab := table[Row](t)
	nyc := time.FixedZone("EST", -5*60*60)
	for _, tc := range []struct {
		name string
		f    filter.Filter
		row  map[string]any
		want bool
	}{
		{"int for bigint", filter.Eq("big", 7), map[string]any{"big": int64(7)}, true},
		{"uint8 for int", filter.Eq("int_col", uint8(7)), map[string]any{"int_col": int32(7)}, true},
		{"int for int", filter.Gt("int_col", 7), map[string]any{"int_col": int32(7)}, false},
		{"int for double", filter.Eq("double_col", 3), map[string]any{"double_col": 3.0}, true},
		{"int for float", filter.Lt("float_col", 3), map[string]any{"float_col": float32(2.5)}, true},
		{"float64 for float", filter.Eq("float_col", 0.1), map[string]any{"float_col": float32(0.1)}, true},
		{"int for decimal", filter.Eq("decimal_col", 15), map[string]any{"decimal_col": inf.NewDec(1500, 2)}, true},
		{"int for varint", filter.Lt("varint_col", 15), map[string]any{"varint_col": big.NewInt(14)}, true},
		{"big.Int value", filter.Eq("varint_col", *big.NewInt(14)), map[string]any{"varint_col": big.NewInt(14)}, true},
		{"inf.Dec value", filter.Eq("decimal_col", *inf.NewDec(14, 0)), map[string]any{"decimal_col": inf.NewDec(140, 1)}, true},
		{"pointer value", filter.Eq("int_col", ptr(int32(4))), map[string]any{"int_col": int32(4)}, true},
		{"date in its own zone", filter.Eq("date_col", time.Date(2026, 2, 28, 23, 0, 0, 0, nyc)),
			map[string]any{"date_col": ts("2026-02-28T00:00:00Z")}, true},
		{"date: the day in UTC is not the day", filter.Eq("date_col", time.Date(2026, 2, 28, 23, 0, 0, 0, nyc)),
			map[string]any{"date_col": ts("2026-03-01T00:00:00Z")}, false},
		{"timestamp at the millisecond", filter.Eq("ts", ts("2026-01-01T00:00:00.0009Z")),
			map[string]any{"ts": ts("2026-01-01T00:00:00Z")}, true},
		{"row value pointer", filter.Eq("int_col", 4), map[string]any{"int_col": ptr(int32(4))}, true},
		{"row value int for int", filter.Eq("int_col", 4), map[string]any{"int_col": 4}, true},
		{"row NaN", filter.Lt("double_col", 1.0), map[string]any{"double_col": nan()}, false},
		{"row NaN $ne", filter.Ne("double_col", 1.0), map[string]any{"double_col": nan()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := match(t, bind(t, tc.f, tab), tc.row); got != tc.want {
				t.Errorf("%s on %v = %v, want %v", tc.f, tc.row, got, tc.want)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

// TestTimeUUIDOrder: timeuuids of one instant sort by their last bytes as signed
// bytes, as Cassandra sorts them, so MinTimeUUID and MaxTimeUUID bound the
// instant.
func TestTimeUUIDOrder(t *testing.T) {
	tab := table[Row](t)
	at := ts("2026-05-01T12:00:00Z")
	one := orm.MinTimeUUID(at)
	one[8], one[15] = 0x90, 0x01 // same time and variant, bytes between Min's and Max's
	for _, tc := range []struct {
		f    filter.Filter
		row  orm.UUID
		want bool
	}{
		{filter.Gt("timeuuid_col", orm.MinTimeUUID(at)), one, true},
		{filter.Lt("timeuuid_col", orm.MaxTimeUUID(at)), one, true},
		{filter.Lt("timeuuid_col", orm.MinTimeUUID(at)), one, false},
		{filter.Gt("timeuuid_col", orm.MaxTimeUUID(at)), one, false},
		{filter.Gt("timeuuid_col", orm.MaxTimeUUID(at)), orm.MinTimeUUID(at.Add(time.Millisecond)), true},
		{filter.Lte("timeuuid_col", one), one, true},
		// Signed bytes: 0x00 after Min's 0x80, 0x90 before Max's 0x7f.
		{filter.Gt("timeuuid_col", orm.MinTimeUUID(at)), withBytes(orm.MinTimeUUID(at), 9, 0x00), true},
		{filter.Lt("timeuuid_col", orm.MaxTimeUUID(at)), withBytes(orm.MaxTimeUUID(at), 9, 0x90), true},
		// By time, not by bytes: the time's low bits come first in a UUID.
		{filter.Gt("timeuuid_col", uuid("ffffffff-0000-1000-8000-000000000000")), uuid("00000000-0001-1000-8000-000000000000"), true},
		{filter.Lt("timeuuid_col", uuid("00000000-0001-1000-8000-000000000000")), uuid("ffffffff-0000-1000-8000-000000000000"), true},
	} {
		if got := match(t, bind(t, tc.f, tab), map[string]any{"timeuuid_col": tc.row}); got != tc.want {
			t.Errorf("%s on %s = %v, want %v", tc.f, tc.row, got, tc.want)
		}
	}
}

func withBytes(u orm.UUID, i int, b byte) orm.UUID {
	u[i] = b
	return u
}

// TestNull: which row values are null (no value), per column type and place.
func TestNull(t *testing.T) {
	tab := table[Row](t)
	exists := bind(t, filter.Or(
		filter.Exists("ptr_col", true), filter.Exists("ts", true), filter.Exists("at", true),
		filter.Exists("uuid_col", true), filter.Exists("id", true), filter.Exists("blob_col", true),
		filter.Exists("list_col", true), filter.Exists("frozen_col", true), filter.Exists("map_col", true),
		filter.Exists("varint_col", true), filter.Exists("decimal_col", true), filter.Exists("inet_col", true),
		filter.Exists("tuple_col", true), filter.Exists("udt_col", true), filter.Exists("vec", true),
		filter.Exists("text_col", true), filter.Exists("int_col", true), filter.Exists("udts_col", true),
	), tab)
	for _, tc := range []struct {
		col     string
		v       any
		present bool
	}{
		{"ptr_col", (*string)(nil), false},
		{"ptr_col", ptr(""), true},
		{"ts", time.Time{}, false},
		{"ts", ts("1970-01-01T00:00:00Z"), true},
		{"at", time.Time{}, true}, // a key column: the zero time is a value
		{"uuid_col", orm.UUID{}, false},
		{"uuid_col", orm.NewUUID(), true},
		{"id", orm.UUID{}, true},
		{"blob_col", []byte(nil), false},
		{"blob_col", []byte{}, true},
		{"list_col", []int32(nil), false},
		{"list_col", []int32{}, false}, // Cassandra keeps no empty list
		{"list_col", []int32{0}, true},
		{"frozen_col", []string{}, true}, // a frozen empty list is a value
		{"frozen_col", []string(nil), false},
		{"map_col", map[string]float64{}, false},
		{"map_col", map[string]float64{"a": 0}, true},
		{"varint_col", (*big.Int)(nil), false},
		{"decimal_col", (*inf.Dec)(nil), false},
		{"inet_col", net.IP(nil), false},
		{"tuple_col", Pair{}, true},
		{"udt_col", Addr{}, true},
		{"udt_col", (*Addr)(nil), false},
		{"udts_col", []Addr{{}}, true},
		{"vec", []float32(nil), false},
		{"vec", []float32{1, 2, 3}, true},
		{"text_col", "", true},
		{"int_col", int32(0), true},
		{"int_col", nil, false},
	} {
		if got := match(t, exists, map[string]any{tc.col: tc.v}); got != tc.present {
			t.Errorf("%s = %#v: present %v, want %v", tc.col, tc.v, got, tc.present)
		}
	}
	// $ne and $nin match a null; $eq and ranges do not.
	for _, tc := range []struct {
		f    filter.Filter
		want bool
	}{
		{filter.Ne("ts", ts("2026-01-01T00:00:00Z")), true},
		{filter.Nin("ts", ts("2026-01-01T00:00:00Z")), true},
		{filter.Eq("ts", ts("2026-01-01T00:00:00Z")), false},
		{filter.Gt("ts", ts("2000-01-01T00:00:00Z")), false},
		{filter.Not(filter.Gt("ts", ts("2000-01-01T00:00:00Z"))), true},
	} {
		if got := match(t, bind(t, tc.f, tab), map[string]any{"ts": time.Time{}}); got != tc.want {
			t.Errorf("%s on a null ts = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestCollections(t *testing.T) {
	tab := table[Row](t)
	row := map[string]any{
		"list_col":   []int32{1, 2, 3},
		"set_col":    []string{"a", "b"},
		"map_col":    map[string]float64{"x": 1.5},
		"frozen_col": []string{"f"},
		"nested_col": map[string][]int32{"k": {1}},
	}
	for _, tc := range []struct {
		f    string
		want bool
	}{
		{`{"list_col": {"$contains": 2}}`, true},
		{`{"list_col": {"$contains": 5}}`, false},
		{`{"set_col": {"$contains": "b"}}`, true},
		{`{"set_col": {"$contains": "c"}}`, false},
		{`{"map_col": {"$contains": 1.5}}`, true},
		{`{"map_col": {"$contains": 2}}`, false},
		{`{"map_col": {"$containsKey": "x"}}`, true},
		{`{"map_col": {"$containsKey": "y"}}`, false},
		{`{"frozen_col": {"$contains": "f"}}`, true},
		{`{"nested_col": {"$containsKey": "k"}}`, true},
		{`{"nested_col": {"$containsKey": "j"}}`, false},
		{`{"list_col": {"$not": {"$contains": 5}}}`, true},
		{`{"udts_col": {"$exists": false}}`, true},
		{`{"set_col": {"$contains": "a"}, "list_col": {"$contains": 3}}`, true},
	} {
		if got := match(t, bind(t, parse(t, tc.f), tab), row); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.f, got, tc.want)
		}
	}
	// A missing or empty collection contains nothing.
	m := bind(t, filter.Contains("list_col", 1), tab)
	for _, r := range []map[string]any{{}, {"list_col": []int32{}}, {"list_col": []int32(nil)}} {
		if match(t, m, r) {
			t.Errorf("%s matches %v", filter.Contains("list_col", 1), r)
		}
	}
}

func TestLogic(t *testing.T) {
	tab := table[Row](t)
	row := map[string]any{"status": Status("paid"), "int_col": int32(5), "bool_col": true}
	for _, tc := range []struct {
		f    string
		want bool
	}{
		{`{}`, true},
		{`{"status": "paid", "int_col": 5}`, true},
		{`{"status": "paid", "int_col": 6}`, false},
		{`{"$and": [{"status": "paid"}, {"int_col": {"$gt": 4}}]}`, true},
		{`{"$and": [{"status": "paid"}, {"int_col": {"$gt": 5}}]}`, false},
		{`{"$or": [{"status": "new"}, {"int_col": {"$gt": 4}}]}`, true},
		{`{"$or": [{"status": "new"}, {"int_col": {"$gt": 5}}]}`, false},
		{`{"$not": {"status": "paid", "int_col": 6}}`, true},
		{`{"$not": {"status": "paid", "int_col": 5}}`, false},
		{`{"int_col": {"$gt": 1, "$lt": 9}}`, true},
		{`{"int_col": {"$gt": 1, "$lt": 5}}`, false},
		{`{"int_col": {"$not": {"$gt": 1, "$lt": 5}}}`, true},
		{`{"int_col": {"$not": {"$not": {"$eq": 5}}}}`, true},
		{`{"$or": [{}, {"status": "new"}]}`, true},
		{`{"$not": {}}`, false},
		{`{"status": "paid", "$or": [{"bool_col": false}, {"int_col": 5}]}`, true},
	} {
		if got := match(t, bind(t, parse(t, tc.f), tab), row); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.f, got, tc.want)
		}
	}
}

// TestBindRefuses: every refusal names the table and the column, and matches its
// sentinel.
func TestBindRefuses(t *testing.T) {
	tab := table[Row](t)
	for _, tc := range []struct {
		name string
		f    filter.Filter
		is   error
		msg  string
	}{
		{"unknown column", filter.Eq("stauts", "paid"), orm.ErrUnknownColumn, `filter: table row has no column "stauts"`},
		{"unknown column in JSON", parse(t, `{"$or": [{"status": "a"}, {"nope": 1}]}`), orm.ErrUnknownColumn, `no column "nope"`},
		{"$lt on boolean", filter.Lt("bool_col", true), filter.ErrNotApplicable, "filter: table row, column bool_col (boolean): $lt does not apply"},
		{"$gte on uuid", filter.Gte("uuid_col", orm.NewUUID()), filter.ErrNotApplicable, "uuid_col (uuid): $gte does not apply"},
		{"$lt on blob", filter.Lt("blob_col", []byte{1}), filter.ErrNotApplicable, "$lt does not apply"},
		{"$gt on duration", filter.Gt("duration_col", orm.Duration{Days: 1}), filter.ErrNotApplicable, "$gt does not apply"},
		{"$lt on inet", filter.Lt("inet_col", net.ParseIP("1.2.3.4")), filter.ErrNotApplicable, "$lt does not apply"},
		{"$eq on list", filter.Eq("list_col", []int32{1}), filter.ErrNotApplicable, "list_col (list<int>): $eq does not apply (on a collection use $contains"},
		{"$in on set", filter.In("set_col", "a"), filter.ErrNotApplicable, "$in does not apply"},
		{"$lt on map", filter.Lt("map_col", 1), filter.ErrNotApplicable, "$lt does not apply"},
		{"$eq on tuple", filter.Eq("tuple_col", Pair{}), filter.ErrNotApplicable, "only $exists applies"},
		{"$eq on udt", filter.Eq("udt_col", Addr{}), filter.ErrNotApplicable, "only $exists applies"},
		{"$eq on vector", filter.Eq("vec", []float32{1, 2, 3}), filter.ErrNotApplicable, "only $exists applies"},
		{"$contains on text", filter.Contains("text_col", "a"), filter.ErrNotApplicable, "to lists, sets and maps only"},
		{"$contains on a list of UDTs", filter.Contains("udts_col", Addr{}), filter.ErrNotApplicable, "elements of a scalar type only"},
		{"$contains on a map of lists", filter.Contains("nested_col", []int32{1}), filter.ErrNotApplicable, "$contains does not apply"},
		{"$containsKey on list", filter.ContainsKey("list_col", 1), filter.ErrNotApplicable, "to maps with keys"},
		{"string for int", filter.Eq("int_col", "3"), orm.ErrInvalidValue, "column int_col (int): $eq: a string value: want an integer"},
		{"JSON string for int", parse(t, `{"int_col": "3"}`), orm.ErrInvalidValue, `the string "3": want a whole number`},
		{"1.5 for int", parse(t, `{"int_col": {"$lt": 1.5}}`), orm.ErrInvalidValue, "1.5 is not a whole number"},
		{"-1.5 for int", parse(t, `{"int_col": -1.5}`), orm.ErrInvalidValue, "-1.5 is not a whole number"},
		{"1.5 for bigint", parse(t, `{"big": 1.5}`), orm.ErrInvalidValue, "1.5 is not a whole number"},
		{"smallint range", parse(t, `{"small": 40000}`), orm.ErrInvalidValue, "40000 is out of range for a 16-bit integer"},
		{"tinyint range", filter.Eq("tiny", 128), orm.ErrInvalidValue, "128 is out of range for a 8-bit integer"},
		{"int range", parse(t, `{"int_col": {"$in": [1, 2147483648]}}`), orm.ErrInvalidValue, "2147483648 is out of range"},
		{"bigint range", parse(t, `{"big": 9223372036854775808}`), orm.ErrInvalidValue, "out of range for a 64-bit integer"},
		{"uint64 range", filter.Eq("big", uint64(1<<63)), orm.ErrInvalidValue, "out of range for a 64-bit integer"},
		{"huge exponent", parse(t, `{"varint_col": 1e99999}`), orm.ErrInvalidValue, "exponent is out of range"},
		{"float range", parse(t, `{"float_col": 1e39}`), orm.ErrInvalidValue, "out of range for a 32-bit float"},
		{"double range", parse(t, `{"double_col": 1e309}`), orm.ErrInvalidValue, "out of range for a 64-bit float"},
		{"float for decimal", filter.Eq("decimal_col", 0.1), orm.ErrInvalidValue, "want an *inf.Dec or an integer"},
		{"inexact int for float", filter.Eq("float_col", 1<<25+1), orm.ErrInvalidValue, "not exactly a 32-bit float"},
		{"NaN", filter.Eq("double_col", nan()), orm.ErrInvalidValue, "NaN is not a finite number"},
		{"string for float", parse(t, `{"double_col": "1.5"}`), orm.ErrInvalidValue, "want a number"},
		{"number for text", parse(t, `{"text_col": 3}`), orm.ErrInvalidValue, "the number 3: want a string"},
		{"bool for text", parse(t, `{"text_col": true}`), orm.ErrInvalidValue, "true: want a string"},
		{"non-ASCII for ascii", filter.Eq("ascii_col", "é"), orm.ErrInvalidValue, "is not ASCII"},
		{"bad uuid", parse(t, `{"uuid_col": "6f1c"}`), orm.ErrInvalidValue, `"6f1c" is not a UUID`},
		{"v4 for timeuuid", filter.Eq("timeuuid_col", orm.NewUUID()), orm.ErrInvalidValue, "not a timeuuid"},
		{"string for uuid", filter.Eq("uuid_col", "6f1c0d4e-0000-4000-8000-000000000001"), orm.ErrInvalidValue, "want an orm.UUID"},
		{"bad timestamp", parse(t, `{"ts": "2026-01-01 00:00"}`), orm.ErrInvalidValue, "not an RFC 3339 time"},
		{"number for timestamp", parse(t, `{"ts": 1700000000000}`), orm.ErrInvalidValue, "want an RFC 3339 time string"},
		{"bad date", parse(t, `{"date_col": "2026-02-30"}`), orm.ErrInvalidValue, "is not a date"},
		{"date range", filter.Eq("date_col", time.Date(-6000000, 1, 1, 0, 0, 0, 0, time.UTC)), orm.ErrInvalidValue, "outside the range of a CQL date"},
		{"bad time", parse(t, `{"time_col": "25:00:00"}`), orm.ErrInvalidValue, "not a time of day"},
		{"hour 24", parse(t, `{"time_col": "24:00:00"}`), orm.ErrInvalidValue, `"24:00:00" is not a time of day (HH:MM:SS`},
		{"minute 60", parse(t, `{"time_col": "00:60:00"}`), orm.ErrInvalidValue, "not a time of day"},
		{"time range", filter.Eq("time_col", 25*time.Hour), orm.ErrInvalidValue, "not a time of day"},
		{"int for time", filter.Eq("time_col", 5), orm.ErrInvalidValue, "want a time.Duration"},
		{"bad duration", parse(t, `{"duration_col": "3 days"}`), orm.ErrInvalidValue, "not a CQL duration"},
		{"mixed-sign duration", filter.Eq("duration_col", orm.Duration{Months: 1, Days: -1}), orm.ErrInvalidValue, "mixes signs"},
		{"bad inet", parse(t, `{"inet_col": "1.2.3"}`), orm.ErrInvalidValue, "not an IP address"},
		{"bad base64", parse(t, `{"blob_col": "AgM"}`), orm.ErrInvalidValue, "not standard base64"},
		{"null", parse(t, `{"text_col": null}`), orm.ErrInvalidValue, "use $exists: false"},
		{"nil", filter.Eq("text_col", nil), orm.ErrInvalidValue, "use $exists: false"},
		{"zero time", filter.Eq("ts", time.Time{}), orm.ErrInvalidValue, "use $exists: false"},
		{"zero uuid", parse(t, `{"uuid_col": "00000000-0000-0000-0000-000000000000"}`), orm.ErrInvalidValue, "use $exists: false"},
		{"wrong element type", filter.Contains("list_col", "x"), orm.ErrInvalidValue, "column list_col (list<int>): $contains: a string value"},
		{"wrong key type", parse(t, `{"map_col": {"$containsKey": 1}}`), orm.ErrInvalidValue, "the number 1: want a string"},
		{"empty $in", filter.In[string]("status"), filter.ErrSyntax, "column status (text): $in takes at least one value"},
		{"empty $nin", parse(t, `{"status": {"$nin": []}}`), filter.ErrSyntax, "$nin takes at least one value"},
		{"empty $and", filter.And(), filter.ErrSyntax, "filter: table row: $and of no filters"},
		{"empty $or", parse(t, `{"$or": []}`), filter.ErrSyntax, "$or of no filters"},
		{"too many values", filter.In("int_col", make([]int, filter.MaxValues+1)...), filter.ErrLimit, "more than 1000"},
		{"too deep", deep(filter.MaxDepth + 1), filter.ErrLimit, "deeper than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := filter.Bind(tc.f, tab)
			if err == nil {
				t.Fatalf("Bind(%s) = %v, want an error", tc.f, m)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Bind(%s) = %q, want %v with %q", tc.f, err, tc.is, tc.msg)
			}
		})
	}
	if _, err := filter.Bind(deep(filter.MaxDepth), tab); err != nil {
		t.Errorf("a filter %d deep: %v", filter.MaxDepth, err)
	}
	if _, err := filter.Bind(filter.In("int_col", make([]int, filter.MaxValues)...), tab); err != nil {
		t.Errorf("an $in of %d values: %v", filter.MaxValues, err)
	}
	if _, err := filter.Bind(filter.Eq("id", orm.NewUUID()), nil); err == nil {
		t.Error("Bind to a nil table succeeded")
	}
}

// deep returns a filter of n nested Nots.
func deep(n int) filter.Filter {
	f := filter.Eq("int_col", 1)
	for range n {
		f = filter.Not(f)
	}
	return f
}

func TestMatchRefusesRowValues(t *testing.T) {
	tab := table[Row](t)
	for _, tc := range []struct {
		f   filter.Filter
		row map[string]any
		msg string
	}{
		{filter.Eq("int_col", 1), map[string]any{"int_col": "1"}, "filter: table row, column int_col (int): row value: a string value: want an integer"},
		{filter.Eq("int_col", 1), map[string]any{"int_col": int64(1 << 40)}, "out of range for a 32-bit integer"},
		{filter.Eq("ts", ts("2026-01-01T00:00:00Z")), map[string]any{"ts": "2026-01-01"}, "want a time.Time"},
		{filter.Exists("list_col", true), map[string]any{"list_col": map[string]int{}}, "want a slice"},
		{filter.Contains("list_col", 1), map[string]any{"list_col": []string{"a"}}, "a string value: want an integer"},
		{filter.ContainsKey("map_col", "a"), map[string]any{"map_col": map[int]float64{1: 1}}, "want a string"},
		{filter.Exists("udt_col", true), map[string]any{"udt_col": 3}, "want a struct or a slice"},
		{filter.Eq("inet_col", net.ParseIP("1.2.3.4")), map[string]any{"inet_col": net.IP{1, 2, 3}}, "is no address"},
		// A bad value is refused even where an Or would not have needed it.
		{filter.Or(filter.Eq("status", "a"), filter.Eq("int_col", 1)), map[string]any{"status": "a", "int_col": 1.5}, "column int_col"},
	} {
		ok, err := bind(t, tc.f, tab).Match(tc.row)
		if ok || !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s on %v = %v, %v; want an error with %q", tc.f, tc.row, ok, err, tc.msg)
		}
	}
	var nilMatcher *filter.Matcher
	if ok, err := nilMatcher.Match(nil); ok || err == nil {
		t.Errorf("a nil Matcher's Match = %v, %v", ok, err)
	}
}

func TestColumns(t *testing.T) {
	tab := table[Row](t)
	m := bind(t, parse(t, `{"status": "a", "$or": [{"int_col": {"$gt": 1}}, {"status": "b"}], "$not": {"bool_col": {"$exists": true}}, "id": {"$ne": "6f1c0d4e-0000-4000-8000-000000000001"}}`), tab)
	want := []string{"bool_col", "id", "int_col", "status"}
	if got := m.Columns(); !slices.Equal(got, want) {
		t.Errorf("Columns() = %v, want %v", got, want)
	}
	m.Columns()[0] = "changed"
	if got := m.Columns(); !slices.Equal(got, want) {
		t.Errorf("Columns() after changing its result = %v", got)
	}
	if got := bind(t, filter.Filter{}, tab).Columns(); len(got) != 0 {
		t.Errorf("the empty filter's Columns() = %v", got)
	}
}

// TestValuesAreCopied: changing a value handed to a builder after Bind does not
// change the Matcher.
func TestValuesAreCopied(t *testing.T) {
	tab := table[Row](t)
	n := big.NewInt(5)
	b := []byte{1}
	m := bind(t, filter.And(filter.Eq("varint_col", n), filter.Eq("blob_col", b)), tab)
	n.SetInt64(6)
	b[0] = 2
	if !match(t, m, map[string]any{"varint_col": big.NewInt(5), "blob_col": []byte{1}}) {
		t.Error("the Matcher saw the values change")
	}
}

// TestTextForms: the JSON forms of durations, times of day and numbers.
func TestTextForms(t *testing.T) {
	tab := table[Row](t)
	for _, tc := range []struct {
		f   string
		row map[string]any
		err string // "" for a match
	}{
		{`{"duration_col": "1w1h1m1s1ms1us1µs1ns"}`, map[string]any{"duration_col": orm.Duration{Days: 7,
			Nanoseconds: int64(time.Hour + time.Minute + time.Second + time.Millisecond + 2*time.Microsecond + 1)}}, ""},
		{`{"duration_col": "1Y1MO1D"}`, map[string]any{"duration_col": orm.Duration{Months: 13, Days: 1}}, ""},
		{`{"duration_col": "1d1d"}`, map[string]any{"duration_col": orm.Duration{Days: 2}}, ""},
		{`{"duration_col": "-2mo"}`, map[string]any{"duration_col": orm.Duration{Months: -2}}, ""},
		{`{"duration_col": "0s"}`, map[string]any{"duration_col": orm.Duration{}}, ""},
		{`{"duration_col": "3000000000d"}`, nil, "out of range"},
		{`{"duration_col": "178956971y"}`, nil, "out of range"},
		{`{"duration_col": "2147483647d1d"}`, nil, "out of range"},
		{`{"duration_col": "2147483647d"}`, map[string]any{"duration_col": orm.Duration{Days: 2147483647}}, ""},
		{`{"duration_col": "99999999999999999999ns"}`, nil, "out of range"},
		{`{"duration_col": "5"}`, nil, "a number without a unit"},
		{`{"duration_col": "d"}`, nil, "a unit without a number"},
		{`{"duration_col": "-"}`, nil, "empty"},
		{`{"time_col": "00:00:00"}`, map[string]any{"time_col": time.Duration(0)}, ""},
		{`{"time_col": "23:59:59.999999999"}`, map[string]any{"time_col": 24*time.Hour - 1}, ""},
		{`{"time_col": "1:00:00"}`, nil, "not a time of day"},
		{`{"time_col": "01:00:00.1234567890"}`, nil, "not a time of day"},
		{`{"time_col": "01:00:00."}`, nil, "not a time of day"},
		{`{"decimal_col": 1.5e2}`, map[string]any{"decimal_col": inf.NewDec(150, 0)}, ""},
		{`{"decimal_col": -25E-3}`, map[string]any{"decimal_col": inf.NewDec(-25, 3)}, ""},
		{`{"decimal_col": "0.10"}`, map[string]any{"decimal_col": inf.NewDec(1, 1)}, ""},
		{`{"decimal_col": "1."}`, nil, "not a number"},
		{`{"decimal_col": "1e"}`, nil, "not a number"},
		{`{"decimal_col": "1e+-3"}`, nil, "not a number"},
		{`{"decimal_col": " 1"}`, nil, "not a number"},
		{`{"varint_col": 1e3}`, map[string]any{"varint_col": big.NewInt(1000)}, ""},
		{`{"varint_col": 12.50e1}`, map[string]any{"varint_col": big.NewInt(125)}, ""},
		{`{"varint_col": "-12"}`, map[string]any{"varint_col": big.NewInt(-12)}, ""},
		{`{"big": -9223372036854775808}`, map[string]any{"big": int64(-1 << 63)}, ""},
		{`{"tiny": -128}`, map[string]any{"tiny": int8(-128)}, ""},
		{`{"tiny": -129}`, nil, "out of range"},
		{`{"date_col": "1969-12-31"}`, map[string]any{"date_col": ts("1969-12-31T00:00:00Z")}, ""},
		{`{"blob_col": ""}`, map[string]any{"blob_col": []byte{}}, ""},
		{`{"text_col": ""}`, map[string]any{"text_col": ""}, ""},
	} {
		f := parse(t, tc.f)
		m, err := filter.Bind(f, tab)
		switch {
		case tc.err != "":
			if !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Bind(%s) = %v, want an error with %q", tc.f, err, tc.err)
			}
		case err != nil:
			t.Errorf("Bind(%s): %v", tc.f, err)
		case !match(t, m, tc.row):
			t.Errorf("%s does not match %v", tc.f, tc.row)
		}
	}
}

// TestSelfReference: a pointer to itself is a value of a wrong type, in a filter
// and in a row, not an endless loop.
func TestSelfReference(t *testing.T) {
	tab := table[Row](t)
	var loop any
	loop = &loop
	if _, err := filter.Bind(filter.Eq("int_col", loop), tab); !errors.Is(err, orm.ErrInvalidValue) {
		t.Errorf("Bind with a self-referencing value = %v", err)
	}
	if _, err := json.Marshal(filter.Eq("int_col", loop)); err == nil {
		t.Error("Marshal with a self-referencing value succeeded")
	}
	for _, col := range []string{"int_col", "list_col", "udt_col"} {
		m := bind(t, filter.Exists(col, true), tab)
		if ok, err := m.Match(map[string]any{col: loop}); ok || !errors.Is(err, orm.ErrInvalidValue) {
			t.Errorf("Match with a self-referencing %s = %v, %v", col, ok, err)
		}
	}
}
