package orm_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type Event struct {
	Stream string `cql:"stream" orm:"pk"`
	Bucket int32  `cql:"bucket" orm:"pk"`
	Seq    int64  `cql:"seq" orm:"ck"`
	Kind   string `cql:"kind" orm:"index"`
	Note   string `cql:"note"`
}

func TestQueryAccessPaths(t *testing.T) {
	db := buildDB(t)
	events, err := orm.NewModel[Event](db)
	if err != nil {
		t.Fatal(err)
	}
	posts, err := orm.NewModel[Post](db)
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		name string
		cql  func(context.Context) (string, []any, error)
		want string
	}{
		{"full key", events.Query().Where(orm.Eq("stream", "s"), orm.Eq("bucket", 1), orm.Gt("seq", 5)).Limit(10).CQL,
			`SELECT "stream", "bucket", "seq", "kind", "note" FROM "` + buildKeyspace + `"."event" WHERE "stream" = ? AND "bucket" = ? AND "seq" > ? LIMIT 10`},
		{"in", events.Query().Where(orm.Eq("stream", "s"), orm.In("bucket", 1, 2)).Columns("seq").PerPartitionLimit(1).CQL,
			`SELECT "seq" FROM "` + buildKeyspace + `"."event" WHERE "stream" = ? AND "bucket" IN (?, ?) PER PARTITION LIMIT 1`},
		{"indexed", events.Query().Where(orm.Eq("kind", "x")).CQL,
			`SELECT "stream", "bucket", "seq", "kind", "note" FROM "` + buildKeyspace + `"."event" WHERE "kind" = ?`},
		{"order", posts.Query().Where(orm.Eq("author", "a")).OrderBy("created", orm.Asc).CQL,
			`WHERE "author" = ? ORDER BY "created" ASC`},
		{"contains", posts.Query().Where(orm.Contains("tags", "go")).CQL, `WHERE "tags" CONTAINS ?`},
		{"contains key", posts.Query().Where(orm.ContainsKey("attrs", "lang")).CQL, `WHERE "attrs" CONTAINS KEY ?`},
		{"allowed filtering", events.Query().Where(orm.Eq("note", "n")).AllowFiltering().CQL, `WHERE "note" = ? ALLOW FILTERING`},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			stmt, _, err := c.cql(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stmt, c.want) {
				t.Fatalf("got  %s\nwant %s", stmt, c.want)
			}
		})
	}
	refused := []struct {
		name     string
		cql      func(context.Context) (string, []any, error)
		is       error
		contains string
	}{
		{"partial partition key", events.Query().Where(orm.Eq("stream", "s")).CQL, orm.ErrFiltering, "partition key (bucket) not restricted"},
		{"full scan", events.Query().CQL, orm.ErrFiltering, "full table scan"},
		{"non-indexed column", events.Query().Where(orm.Eq("stream", "s"), orm.Eq("bucket", 1), orm.Eq("note", "x")).CQL, orm.ErrFiltering, `note is neither a key nor indexed (add orm:"index")`},
		{"unknown column", events.Query().Where(orm.Eq("nope", 1)).CQL, orm.ErrUnknownColumn, `"nope" in table event`},
		{"injected column", events.Query().Where(orm.Eq(`kind" = 'x'; DROP TABLE event; --`, 1)).CQL, orm.ErrUnknownColumn, "DROP TABLE"},
		{"injected select column", events.Query().Columns("seq, note").Where(orm.Eq("kind", "x")).CQL, orm.ErrUnknownColumn, `"seq, note"`},
		{"order by regular", posts.Query().Where(orm.Eq("author", "a")).OrderBy("title", orm.Asc).CQL, orm.ErrInvalidQuery, "clustering key order"},
		{"order without key", posts.Query().Where(orm.Contains("tags", "go")).OrderBy("created", orm.Asc).CQL, orm.ErrInvalidQuery, "partition key (author)"},
		{"contains key on set", posts.Query().Where(orm.ContainsKey("tags", "go")).CQL, orm.ErrInvalidQuery, "not a map"},
		{"contains on values without index", posts.Query().Where(orm.Eq("author", "a"), orm.Contains("attrs", "en")).CQL, orm.ErrFiltering, `index=values`},
		{"equality on collection", posts.Query().Where(orm.Eq("author", "a"), orm.Eq("tags", []string{"a"})).CQL, orm.ErrInvalidQuery, "use Contains"},
		{"ne", posts.Query().Where(orm.Ne("author", "a")).CQL, orm.ErrInvalidQuery, "!="},
		{"clustering range without the partition key", events.Query().Where(orm.Eq("kind", "x"), orm.Gt("seq", 1)).CQL, orm.ErrFiltering, "clustering column seq restricted without the partition key"},
		{"ann without vector", posts.Query().NearestTo("title", []float32{1}).Limit(1).CQL, orm.ErrInvalidQuery, "vector column"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := c.cql(t.Context())
			if !errors.Is(err, c.is) {
				t.Fatalf("got %v, want %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Fatalf("error %q does not contain %q", err, c.contains)
			}
		})
	}
}

// A page cursor is checked before anything is sent: these run on a DB without a
// session, which could not send.
func TestPageCursorChecked(t *testing.T) {
	events, err := orm.NewModel[Event](buildDB(t))
	if err != nil {
		t.Fatal(err)
	}
	q := events.Query().Where(orm.Eq("stream", "s"), orm.Eq("bucket", 1))
	foreign := base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	for cursor, want := range map[string]string{"not base64!": "malformed page cursor", "AA": "malformed page cursor", foreign: "another query"} {
		if _, err := q.Page(t.Context(), cursor); !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), want) {
			t.Errorf("cursor %q: got %v, want ErrInvalidQuery with %q", cursor, err, want)
		}
	}
}

func TestRefusedQueryRunsNothing(t *testing.T) {
	db, log := observedDB(t)
	events := newModel[Event](t, db)
	log.take("")
	yielded := false
	for _, err := range events.Query().Where(orm.Eq("note", "x")).All(t.Context()) {
		if !errors.Is(err, orm.ErrFiltering) {
			t.Fatalf("got %v", err)
		}
		want := "restrict the partition key (stream, bucket), query an indexed column, or call AllowFiltering()"
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks the advice %q", err, want)
		}
		yielded = true
	}
	if !yielded {
		t.Fatal("the iterator yielded nothing")
	}
	if sent := log.take("event"); len(sent) != 0 {
		t.Fatalf("a refused query reached the driver: %v", sent)
	}
	// The log does see an accepted query on the same table.
	for _, err := range events.Query().Where(orm.Eq("stream", "s"), orm.Eq("bucket", int32(0))).All(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if sent := log.take("event"); len(sent) != 1 {
		t.Fatalf("an accepted query reached the driver %d times: %v", len(sent), sent)
	}
}

func TestPaging10000Rows(t *testing.T) {
	db := openDB(t)
	events := newModel[Event](t, db)
	ctx := t.Context()
	const n = 10000
	// Write concurrently in a bounded pool.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			e := Event{Stream: "paging", Bucket: 0, Seq: int64(i), Kind: fmt.Sprint("k", i%7), Note: fmt.Sprint("n", i)}
			if err := events.Insert(ctx, &e); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	q := events.Query().Where(orm.Eq("stream", "paging"), orm.Eq("bucket", 0)).With(orm.WithPageSize(333))

	// Pages with cursors: every row once, in clustering order.
	seen := make([]bool, n)
	next := int64(0)
	cursor := ""
	pages := 0
	for {
		page, err := q.Page(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page.Items {
			if e.Seq != next || seen[e.Seq] {
				t.Fatalf("page %d: got seq %d, want %d", pages, e.Seq, next)
			}
			if e.Note != fmt.Sprint("n", e.Seq) {
				t.Fatalf("row %d has note %q", e.Seq, e.Note)
			}
			seen[e.Seq] = true
			next++
		}
		if page.Next == "" {
			break
		}
		if strings.ContainsAny(page.Next, "+/=") {
			t.Fatalf("cursor %q is not URL-safe", page.Next)
		}
		cursor = page.Next
	}
	if next != n {
		t.Fatalf("paged %d rows, want %d", next, n)
	}
	if pages < n/333 {
		t.Fatalf("%d pages for %d rows of 333", pages, n)
	}

	// The iterator streams across pages too.
	count := 0
	for e, err := range q.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(count) {
			t.Fatalf("iterator: got %d, want %d", e.Seq, count)
		}
		count++
	}
	if count != n {
		t.Fatalf("iterator gave %d rows", count)
	}

	// Breaking early is fine.
	for range q.All(ctx) {
		break
	}

	// SAI index on kind: every 7th row.
	kinds := 0
	for e, err := range events.Query().Where(orm.Eq("kind", "k3")).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq%7 != 3 {
			t.Fatalf("index query returned seq %d", e.Seq)
		}
		kinds++
	}
	if kinds != (n+3)/7 {
		t.Fatalf("index query returned %d rows, want %d", kinds, (n+3)/7)
	}

	// Descending order and limit.
	last, err := q.OrderBy("seq", orm.Desc).One(ctx)
	if err != nil || last.Seq != n-1 {
		t.Fatalf("last = %+v, %v", last, err)
	}

	if _, err := q.Page(ctx, "not base64!"); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestContainsQueries(t *testing.T) {
	db := openDB(t)
	posts := newModel[Post](t, db)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, tags := range [][]string{{"go", "db"}, {"rust"}, {"go"}} {
		p := Post{Author: "contains", Created: now.Add(time.Duration(i) * time.Second), Title: "t", Tags: tags,
			Attrs: map[string]string{fmt.Sprint("k", i): "v"}, Score: int32(i)}
		if err := posts.Insert(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for p, err := range posts.Query().Where(orm.Contains("tags", "go")).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Author == "contains" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("CONTAINS go matched %d rows, want 2", n)
	}
	p, err := posts.Query().Where(orm.ContainsKey("attrs", "k1")).One(ctx)
	if err != nil || p.Tags[0] != "rust" {
		t.Fatalf("CONTAINS KEY: %+v %v", p, err)
	}
	// SAI range on an indexed regular column.
	n = 0
	for p, err := range posts.Query().Where(orm.Eq("author", "contains"), orm.Gte("score", 1)).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Score < 1 {
			t.Fatalf("score %d", p.Score)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("score >= 1 matched %d rows", n)
	}
}

func TestValuesHoldingCQLStoredVerbatim(t *testing.T) {
	db := openDB(t)
	events := newModel[Event](t, db)
	ctx := t.Context()
	evil := []string{
		`'); DROP TABLE event; --`,
		`" OR 1=1 --`,
		"?; ?; ?",
		"line\nbreak\x00nul",
		`$$ BEGIN BATCH APPLY BATCH $$`,
	}
	for i, s := range evil {
		e := Event{Stream: s, Bucket: int32(i), Seq: 1, Kind: s, Note: s}
		if err := events.Insert(ctx, &e); err != nil {
			t.Fatal(err)
		}
		got, err := events.Get(ctx, s, int32(i), int64(1))
		if err != nil {
			t.Fatal(err)
		}
		if got.Stream != s || got.Note != s || got.Kind != s {
			t.Fatalf("stored %q, read %+v", s, got)
		}
		n, err := events.Query().Where(orm.Eq("kind", s)).Count(ctx)
		if err != nil || n != 1 {
			t.Fatalf("count by %q = %d, %v", s, n, err)
		}
	}
}

type Item struct {
	ID        int32     `cql:"id" orm:"pk"`
	Name      string    `cql:"name"`
	Embedding []float32 `cql:"embedding" orm:"vector=3,index"`
}

func TestNearestToANN(t *testing.T) {
	db := openDB(t)
	items := newModel[Item](t, db)
	ctx := t.Context()
	vecs := map[string][]float32{
		"north": {0, 1, 0}, "east": {1, 0, 0}, "up": {0, 0, 1}, "north-east": {0.7, 0.7, 0},
	}
	i := int32(0)
	for name, v := range vecs {
		i++
		if err := items.Insert(ctx, &Item{ID: i, Name: name, Embedding: v}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for it, err := range items.Query().NearestTo("embedding", []float32{0.1, 0.9, 0}).Limit(2).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, it.Name)
	}
	if len(names) != 2 || names[0] != "north" || names[1] != "north-east" {
		t.Fatalf("nearest to (0.1, 0.9, 0): %v", names)
	}
	if _, _, err := items.Query().NearestTo("embedding", []float32{1, 2}).Limit(1).CQL(ctx); !errors.Is(err, orm.ErrInvalidValue) {
		t.Fatalf("wrong dimension: %v", err)
	}
	if _, _, err := items.Query().NearestTo("embedding", []float32{1, 2, 3}).CQL(ctx); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("no limit: %v", err)
	}
}
