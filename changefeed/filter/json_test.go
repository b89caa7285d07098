package filter_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"gopkg.in/inf.v0"
)

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		in  string
		is  error
		msg string
	}{
		{``, filter.ErrSyntax, "malformed JSON"},
		{`[]`, filter.ErrSyntax, "the filter: want a filter, not an array"},
		{`"status"`, filter.ErrSyntax, "want a filter, not the string"},
		{`{"status": "a"`, filter.ErrSyntax, "malformed JSON"},
		{`{"status": "a"} {}`, filter.ErrSyntax, "data after the filter"},
		{`{"status": "a",}`, filter.ErrSyntax, "malformed JSON"},
		{`{"status": tru}`, filter.ErrSyntax, "malformed JSON"},
		{`{"status": {"$regex": "a.*"}}`, filter.ErrSyntax, `filter: column status: unknown operator "$regex"`},
		{`{"$nor": [{"a": 1}]}`, filter.ErrSyntax, `unknown operator "$nor"`},
		{`{"$where": "1"}`, filter.ErrSyntax, `unknown operator "$where"`},
		{`{"$eq": 1}`, filter.ErrSyntax, `$eq applies to a column`},
		{`{"a": {"$and": []}}`, filter.ErrSyntax, "$and applies to filters, not to a column"},
		{`{"a": 1, "a": 2}`, filter.ErrSyntax, `key "a" given twice`},
		{`{"a": {"$gt": 1, "$gt": 2}}`, filter.ErrSyntax, `key "$gt" given twice`},
		{`{"a": [1, 2]}`, filter.ErrSyntax, "an array is no value (for one of several values use $in)"},
		{`{"a": {"b": 1}}`, filter.ErrSyntax, "an object is no value"},
		{`{"a": {}}`, filter.ErrSyntax, "an empty object of operators"},
		{`{"a": {"$eq": [1]}}`, filter.ErrSyntax, "column a: $eq: want a value, not an array"},
		{`{"a": {"$lt": {"$gt": 1}}}`, filter.ErrSyntax, "want a value, not an object"},
		{`{"a": {"$in": 1}}`, filter.ErrSyntax, "$in: want an array of values, not the number 1"},
		{`{"a": {"$in": [[1]]}}`, filter.ErrSyntax, "want a value, not an array"},
		{`{"a": {"$exists": 1}}`, filter.ErrSyntax, "$exists: want true or false, not the number 1"},
		{`{"a": {"$not": 1}}`, filter.ErrSyntax, "$not: want an object of operators"},
		{`{"a": {"$not": {"b": 1}}}`, filter.ErrSyntax, "an object is no value"},
		{`{"$and": {"a": 1}}`, filter.ErrSyntax, "$and: want an array of filters, not an object"},
		{`{"$or": [1]}`, filter.ErrSyntax, "$or: want a filter, not the number 1"},
		{`{"$not": [{"a": 1}]}`, filter.ErrSyntax, "$not: want a filter, not an array"},
		{`{"a": {"$in": [` + strings.Repeat("1,", filter.MaxValues) + `1]}}`, filter.ErrLimit, "more than 1000 values"},
		{nest(filter.MaxDepth + 1), filter.ErrLimit, "nests deeper than 32"},
		{strings.Repeat("[", 100000), filter.ErrLimit, "more than 65536"},
		{`{"a": "` + strings.Repeat("x", filter.MaxBytes) + `"}`, filter.ErrLimit, "bytes of JSON"},
	} {
		name := tc.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			f, err := filter.Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %s, want an error", f)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Parse = %q, want %v with %q", err, tc.is, tc.msg)
			}
		})
	}
	for _, ok := range []string{nest(filter.MaxDepth), `{"a": {"$in": [` + strings.Repeat("1,", filter.MaxValues-1) + `1]}}`} {
		if _, err := filter.Parse([]byte(ok)); err != nil {
			t.Errorf("Parse(%.60s...): %v", ok, err)
		}
	}
}

// nest returns a filter whose JSON nests depth levels of objects and arrays.
func nest(depth int) string {
	s := `{"a": 1}` // depth 1
	for d := 1; d+2 <= depth; d += 2 {
		s = `{"$or": [` + s + `]}`
	}
	if depth%2 == 0 {
		s = `{"$not": ` + s + `}`
	}
	return s
}

func TestNest(t *testing.T) {
	for _, d := range []int{1, 2, 3, 32, 33} {
		depth, deepest := 0, 0
		for _, c := range nest(d) {
			switch c {
			case '{', '[':
				depth++
				deepest = max(deepest, depth)
			case '}', ']':
				depth--
			}
		}
		if deepest != d {
			t.Errorf("nest(%d) nests %d deep", d, deepest)
		}
	}
}

// TestMarshalJSON: the builders' filters in the JSON form, values written in the
// forms Parse reads back.
func TestMarshalJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("", 3600))
	u := uuid("6f1c0d4e-0000-4000-8000-000000000001")
	for _, tc := range []struct {
		f    filter.Filter
		want string
	}{
		{filter.Filter{}, `{}`},
		{filter.Eq("status", "paid"), `{"status":"paid"}`},
		{filter.Ne("status", Status("paid")), `{"status":{"$ne":"paid"}}`},
		{filter.In("status", "processing", "shipped", "delivered"), `{"status":{"$in":["processing","shipped","delivered"]}}`},
		{filter.Nin("quantity", 1, 2), `{"quantity":{"$nin":[1,2]}}`},
		{filter.Lt("quantity", 10), `{"quantity":{"$lt":10}}`},
		{filter.Lte("f", float32(0.1)), `{"f":{"$lte":0.1}}`},
		{filter.Gt("f", 0.1), `{"f":{"$gt":0.1}}`},
		{filter.Gte("f", uint16(7)), `{"f":{"$gte":7}}`},
		{filter.Exists("c", false), `{"c":{"$exists":false}}`},
		{filter.Contains("tags", "sale"), `{"tags":{"$contains":"sale"}}`},
		{filter.ContainsKey("attrs", "color"), `{"attrs":{"$containsKey":"color"}}`},
		{filter.Eq("ok", true), `{"ok":true}`},
		{filter.Eq("ts", at), `{"ts":"2026-01-02T03:04:05.006+01:00"}`},
		{filter.Eq("t", 13*time.Hour+time.Millisecond), `{"t":"13:00:00.001"}`},
		{filter.Eq("d", orm.Duration{Months: 14, Days: 3, Nanoseconds: int64(90 * time.Minute)}), `{"d":"1y2mo3d1h30m"}`},
		{filter.Eq("d", orm.Duration{Days: -1}), `{"d":"-1d"}`},
		{filter.Eq("d", orm.Duration{Months: 121, Nanoseconds: 1001001}), `{"d":"10y1mo1ms1us1ns"}`},
		{filter.Eq("d", orm.Duration{}), `{"d":"0s"}`},
		{filter.Eq("id", u), `{"id":"6f1c0d4e-0000-4000-8000-000000000001"}`},
		{filter.Eq("ip", net.ParseIP("192.0.2.1")), `{"ip":"192.0.2.1"}`},
		{filter.Eq("b", []byte{2, 3}), `{"b":"AgM="}`},
		{filter.Eq("v", new(big.Int).Lsh(big.NewInt(1), 70)), `{"v":1180591620717411303424}`},
		{filter.Eq("p", inf.NewDec(1999, 2)), `{"p":19.99}`},
		{filter.Eq("p", ptr(int32(4))), `{"p":4}`},
		{filter.Eq("s", `a"<b`), `{"s":"a\"\u003cb"}`},
		{filter.And(filter.Eq("a", 1), filter.Gt("b", 2)), `{"a":1,"b":{"$gt":2}}`},
		{filter.And(filter.Gt("q", 1), filter.Lt("q", 10)), `{"q":{"$gt":1,"$lt":10}}`},
		{filter.And(filter.Eq("q", 1), filter.Ne("q", 2)), `{"q":{"$eq":1,"$ne":2}}`},
		{filter.And(filter.Gt("q", 1), filter.Gt("q", 2)), `{"$and":[{"q":{"$gt":1}},{"q":{"$gt":2}}]}`},
		{filter.And(filter.Or(filter.Eq("a", 1)), filter.Or(filter.Eq("b", 1))), `{"$and":[{"$or":[{"a":1}]},{"$or":[{"b":1}]}]}`},
		{filter.And(filter.And(filter.Eq("a", 1), filter.Eq("b", 2)), filter.Eq("c", 3)), `{"a":1,"b":2,"c":3}`},
		{filter.And(), `{"$and":[]}`},
		{filter.Or(filter.Eq("a", 1), filter.Filter{}), `{"$or":[{"a":1},{}]}`},
		{filter.Not(filter.Lt("q", 10)), `{"q":{"$not":{"$lt":10}}}`},
		{filter.Not(filter.Eq("q", 10)), `{"q":{"$not":{"$eq":10}}}`},
		{filter.Not(filter.And(filter.Gt("q", 1), filter.Lt("q", 10))), `{"q":{"$not":{"$gt":1,"$lt":10}}}`},
		{filter.Not(filter.Not(filter.Eq("q", 1))), `{"q":{"$not":{"$not":{"$eq":1}}}}`},
		{filter.Not(filter.And(filter.Eq("a", 1), filter.Eq("b", 1))), `{"$not":{"a":1,"b":1}}`},
		{filter.Not(filter.Or(filter.Eq("a", 1))), `{"$not":{"$or":[{"a":1}]}}`},
		{filter.Not(filter.Filter{}), `{"$not":{}}`},
		{filter.And(filter.Not(filter.Lt("q", 1)), filter.Gt("q", 5)), `{"q":{"$not":{"$lt":1},"$gt":5}}`},
		{filter.And(filter.Not(filter.Eq("a", 1)), filter.Not(filter.Eq("a", 2))), `{"$and":[{"a":{"$not":{"$eq":1}}},{"a":{"$not":{"$eq":2}}}]}`},
		{filter.Eq("x", nil), `{"x":null}`},
	} {
		got, err := json.Marshal(tc.f)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", tc.f, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("Marshal = %s, want %s", got, tc.want)
		}
		if s := tc.f.String(); s != tc.want {
			t.Errorf("String() = %s, want %s", s, tc.want)
		}
		// The form is a fixed point: parsed and written again, it is the same.
		var back filter.Filter
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("Unmarshal(%s): %v", got, err)
			continue
		}
		if again, _ := json.Marshal(back); string(again) != tc.want {
			t.Errorf("Marshal(Parse(%s)) = %s", tc.want, again)
		}
	}
}

func TestMarshalJSONRefuses(t *testing.T) {
	for _, tc := range []struct {
		f   filter.Filter
		msg string
	}{
		{filter.Eq("f", nan()), "NaN has no JSON form"},
		{filter.Eq("t", -time.Second), "-1s is not a time of day"},
		{filter.Eq("d", orm.Duration{Months: 1, Days: -1}), "mixes signs"},
		{filter.In("p", Pair{}), "a filter_test.Pair value has no JSON form"},
		{filter.Or(filter.Eq("a", 1), filter.Not(filter.And(filter.Eq("b", make(chan int))))), "column b: $eq: a chan int value"},
	} {
		if _, err := json.Marshal(tc.f); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Marshal = %v, want an error with %q", err, tc.msg)
		}
		if s := tc.f.String(); !strings.HasPrefix(s, "<filter: ") {
			t.Errorf("String() = %s", s)
		}
	}
}

// TestRoundTrip: a filter built in Go and the same filter written as JSON and
// parsed back match the same rows, over every scalar type.
func TestRoundTrip(t *testing.T) {
	tab := table[Row](t)
	for _, c := range scalarCases() {
		rows := []map[string]any{{c.col: c.lo}, {c.col: c.mid}, {c.col: c.hi}, {}}
		for _, o := range opCases() {
			if o.ordered && !c.ordered {
				continue
			}
			built := o.build(c)
			data, err := json.Marshal(built)
			if err != nil {
				t.Fatalf("Marshal(%s): %v", c.col, err)
			}
			a, b := bind(t, built, tab), bind(t, parse(t, string(data)), tab)
			for i, row := range rows {
				if c.hi == nil && i == 2 {
					continue
				}
				if x, y := match(t, a, row), match(t, b, row); x != y || x != o.want[i] {
					t.Errorf("%s %s on %v: built %v, parsed from %s %v, want %v", c.col, o.name, row, x, data, y, o.want[i])
				}
			}
		}
	}
}

// TestSeedFilters are the seed application's subscriptions.
func TestSeedFilters(t *testing.T) {
	type Order struct {
		ID     orm.UUID `cql:"id" orm:"pk"`
		Status string   `cql:"status"`
	}
	type Inventory struct {
		SKU      string `cql:"sku" orm:"pk"`
		Quantity int32  `cql:"quantity"`
	}
	orders := bind(t, parse(t, `{ "status": { "$in": ["processing", "shipped", "delivered"] } }`), table[Order](t))
	inventory := bind(t, parse(t, `{ "quantity": { "$lt": 10 } }`), table[Inventory](t))
	for _, tc := range []struct {
		m    *filter.Matcher
		row  map[string]any
		want bool
	}{
		{orders, map[string]any{"status": "shipped"}, true},
		{orders, map[string]any{"status": "cancelled"}, false},
		{orders, map[string]any{}, false},
		{inventory, map[string]any{"quantity": int32(9)}, true},
		{inventory, map[string]any{"quantity": int32(10)}, false},
	} {
		if got := match(t, tc.m, tc.row); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.row, got, tc.want)
		}
	}
}

func TestUnmarshalInStruct(t *testing.T) {
	var sub struct {
		Table   string        `json:"table"`
		Filters filter.Filter `json:"filters"`
	}
	in := `{"table": "orders", "filters": {"status": {"$in": ["processing"]}}}`
	if err := json.Unmarshal([]byte(in), &sub); err != nil {
		t.Fatal(err)
	}
	if got := sub.Filters.String(); got != `{"status":{"$in":["processing"]}}` {
		t.Errorf("Filters = %s", got)
	}
	bad := `{"table": "orders", "filters": {"status": {"$regex": "p"}}}`
	if err := json.Unmarshal([]byte(bad), &sub); !errors.Is(err, filter.ErrSyntax) {
		t.Errorf("Unmarshal(%s) = %v, want ErrSyntax", bad, err)
	}
}
