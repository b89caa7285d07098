package filter_test

import (
	"encoding/json"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// FuzzParse: no input makes Parse, MarshalJSON, Bind or Match panic; what Parse
// accepts is written back in a form that parses to the same filter, which binds
// and matches as the first did.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"status": {"$in": ["processing", "shipped", "delivered"]}}`,
		`{"int_col": {"$lt": 10}}`,
		`{"status": "paid", "int_col": {"$gte": 1, "$lte": 9}}`,
		`{"$or": [{"text_col": {"$ne": "a"}}, {"bool_col": true}]}`,
		`{"$and": [{"ts": {"$gt": "2026-01-01T00:00:00Z"}}, {"date_col": {"$lt": "2026-02-01"}}]}`,
		`{"$not": {"int_col": 3, "big": "9007199254740993"}}`,
		`{"double_col": {"$not": {"$lt": 1e3}}}`,
		`{"decimal_col": {"$in": [1.50, "2.5", -3e-2]}}`,
		`{"varint_col": {"$gt": 123456789012345678901234567890}}`,
		`{"time_col": "13:14:15.5", "duration_col": "1y2mo3d"}`,
		`{"uuid_col": "6f1c0d4e-0000-4000-8000-000000000001"}`,
		`{"inet_col": "::ffff:192.0.2.1", "blob_col": "AgM="}`,
		`{"list_col": {"$contains": 2}, "map_col": {"$containsKey": "x"}}`,
		`{"vec": {"$exists": false}}`,
		`{"a": {"$regex": "x"}}`,
		`{"a": 1, "a": 2}`,
		`{"$or": [{"$or": [{"$or": [{"$not": {"x": null}}]}]}]}`,
		`[1, {"a": [}`,
	} {
		f.Add([]byte(s))
	}
	tab := table[Row](f)
	row := map[string]any{"status": Status("paid"), "int_col": int32(3), "text_col": "a", "list_col": []int32{2}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := filter.Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(fl)
		if err != nil {
			t.Fatalf("Marshal(Parse(%q)): %v", data, err)
		}
		back, err := filter.Parse(out)
		if err != nil {
			t.Fatalf("Parse(%s), written from %q: %v", out, data, err)
		}
		if again, _ := json.Marshal(back); string(again) != string(out) {
			t.Fatalf("%q written as %s, then as %s", data, out, again)
		}
		m1, err1 := filter.Bind(fl, tab)
		m2, err2 := filter.Bind(back, tab)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Bind(%q) = %v, Bind(%s) = %v", data, err1, out, err2)
		}
		if err1 != nil {
			return
		}
		ok1, err1 := m1.Match(row)
		ok2, err2 := m2.Match(row)
		if ok1 != ok2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("Match: %q %v %v, %s %v %v", data, ok1, err1, out, ok2, err2)
		}
		_ = m1.Columns()
		_, _ = m1.Match(map[string]any{"int_col": "not an int", "list_col": map[int]orm.UUID{}})
	})
}
