package orm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// FuzzQueryBuilder feeds arbitrary column names, operators and values to the builder.
// Whatever it gets, the builder either refuses with a typed error or produces CQL in
// which every identifier is a quoted model column and no value appears: values only
// travel as bind markers.
func FuzzQueryBuilder(f *testing.F) {
	f.Add("stream", "bucket", "x'; DROP TABLE event; --", 3, 0)
	f.Add(`kind" = 'a`, "seq", "?", 1, 1)
	f.Add("note", "kind", "\x00", 2, 2)
	f.Add("seq", "stream", "", 5, 3)
	db := openDB(f)
	events, err := orm.NewModel[Event](db)
	if err != nil {
		f.Fatal(err)
	}
	cols := map[string]bool{"stream": true, "bucket": true, "seq": true, "kind": true, "note": true}
	f.Fuzz(func(t *testing.T, col1, col2, val string, op, extra int) {
		preds := []func(string, any) orm.Predicate{orm.Eq, orm.Gt, orm.Lte, orm.Contains, orm.ContainsKey, orm.Ne}
		p1 := preds[abs(op)%len(preds)](col1, val)
		p2 := orm.In(col2, val, val+"x")
		q := events.Query().Where(p1, p2)
		switch abs(extra) % 4 {
		case 1:
			q = q.Columns(col1)
		case 2:
			q = q.OrderBy(col2, orm.Desc)
		case 3:
			q = q.AllowFiltering()
		}
		stmt, vals, err := q.CQL()
		if err != nil {
			for _, want := range []error{orm.ErrUnknownColumn, orm.ErrFiltering, orm.ErrInvalidQuery, orm.ErrInvalidValue} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		// Outside quoted identifiers, the statement holds only keywords, operators
		// and markers: no value text.
		parts := strings.Split(stmt, `"`)
		var bare strings.Builder
		for i := 0; i < len(parts); i += 2 {
			bare.WriteString(parts[i] + " ")
		}
		for tok := range strings.FieldsSeq(bare.String()) {
			if tok = strings.Trim(tok, "(),."); tok != "" && !keywords[tok] {
				t.Fatalf("token %q outside identifiers in %s", tok, stmt)
			}
		}
		if len(vals) < 3 {
			t.Fatalf("%d bound values for two predicates: %s", len(vals), stmt)
		}
		// Every quoted identifier is a model column, the keyspace or the table.
		for i := 1; i < len(parts); i += 2 {
			if id := parts[i]; !cols[id] && id != env.Keyspace() && id != "event" {
				t.Fatalf("identifier %q in %s", id, stmt)
			}
		}
	})
}

var keywords = map[string]bool{}

func init() {
	for k := range strings.FieldsSeq("SELECT FROM WHERE AND IN ORDER BY ASC DESC LIMIT ALLOW FILTERING CONTAINS KEY = > >= < <= != ? ?,") {
		keywords[k] = true
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
