package orm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Post is a time-ordered row per author, with collections to patch.
type Post struct {
	Author  string            `cql:"author" orm:"pk"`
	Created time.Time         `cql:"created" orm:"ck=desc"`
	Title   string            `cql:"title" validate:"required,maxlen=80"`
	Body    *string           `cql:"body"`
	Tags    []string          `cql:"tags" orm:"set,index"`
	Lines   []string          `cql:"lines"`
	Attrs   map[string]string `cql:"attrs" orm:"index=keys"`
	Blog    string            `cql:"blog" orm:"static"`
	Score   int32             `cql:"score" orm:"index"`
}

type PostViews struct {
	Author string      `cql:"author" orm:"pk"`
	Views  orm.Counter `cql:"views"`
	Likes  orm.Counter `cql:"likes"`
}

func ptr[T any](v T) *T { return &v }

func TestCRUD(t *testing.T) {
	db := openDB(t)
	posts := newModel[Post](t, db)
	ctx := t.Context()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	p := Post{Author: "ann", Created: t0, Title: "hello", Body: ptr("first"), Tags: []string{"go"},
		Lines: []string{"a"}, Attrs: map[string]string{"lang": "en"}, Blog: "ann's blog", Score: 5}
	if err := posts.Insert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	got, err := posts.Get(ctx, "ann", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "hello" || *got.Body != "first" || got.Blog != "ann's blog" || !got.Created.Equal(t0) {
		t.Fatalf("got %+v", got)
	}

	// Not found is typed and names the table and key.
	_, err = posts.Get(ctx, "nobody", t0)
	if !errors.Is(err, orm.ErrNotFound) || !strings.Contains(err.Error(), "author=nobody") {
		t.Fatalf("got %v, want ErrNotFound naming the key", err)
	}

	// Unset fields are not written: inserting with Body nil keeps the stored body.
	p2 := Post{Author: "ann", Created: t0, Title: "hello again"}
	if err := posts.Insert(ctx, &p2); err != nil {
		t.Fatal(err)
	}
	got, _ = posts.Get(ctx, "ann", t0)
	if got.Body == nil || *got.Body != "first" || got.Title != "hello again" || !slices.Equal(got.Tags, []string{"go"}) {
		t.Fatalf("an unset field overwrote stored data: %+v", got)
	}
	// Unless nulls are asked for.
	if err := posts.Update(ctx, &p2, orm.WithNulls()); err != nil {
		t.Fatal(err)
	}
	got, _ = posts.Get(ctx, "ann", t0)
	if got.Body != nil || got.Tags != nil {
		t.Fatalf("WithNulls did not clear: %+v", got)
	}

	// Partial updates of collections.
	key := []any{"ann", t0}
	changes := []orm.Change{
		orm.Set("body", "patched"),
		orm.Add("tags", []string{"db", "cassandra"}),
		orm.Append("lines", []string{"b", "c"}),
		orm.Prepend("lines", []string{"z"}),
		orm.Put("attrs", "level", "pro"),
	}
	if err := posts.Patch(ctx, key, changes); err != nil {
		t.Fatal(err)
	}
	if err := posts.Patch(ctx, key, []orm.Change{orm.Remove("tags", []string{"db"}), orm.Remove("attrs", []string{"lang"})}); err != nil {
		t.Fatal(err)
	}
	got, _ = posts.Get(ctx, key...)
	if *got.Body != "patched" || !slices.Equal(got.Tags, []string{"cassandra"}) ||
		!slices.Equal(got.Lines, []string{"z", "b", "c"}) || len(got.Attrs) != 1 || got.Attrs["level"] != "pro" {
		t.Fatalf("patch gave %+v", got)
	}

	// Patches that do not fit the column are refused before anything is sent.
	for _, ch := range []orm.Change{
		orm.Append("tags", []string{"x"}), orm.Add("title", "x"), orm.Increment("score", 1),
		orm.Set("author", "bob"), orm.Set("nope", 1),
	} {
		if err := posts.Patch(ctx, key, []orm.Change{ch}); err == nil {
			t.Errorf("patch %v was accepted", ch)
		}
	}

	// Delete columns, then the row.
	if err := posts.DeleteColumns(ctx, key, "body", "lines"); err != nil {
		t.Fatal(err)
	}
	got, _ = posts.Get(ctx, key...)
	if got.Body != nil || got.Lines != nil || got.Title == "" {
		t.Fatalf("DeleteColumns gave %+v", got)
	}
	if err := posts.Delete(ctx, key...); err != nil {
		t.Fatal(err)
	}
	if _, err := posts.Get(ctx, key...); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestRangeDeleteAndCount(t *testing.T) {
	db := openDB(t)
	posts := newModel[Post](t, db)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		p := Post{Author: "range", Created: base.Add(time.Duration(i) * time.Hour), Title: "t"}
		if err := posts.Insert(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	q := posts.Query().Where(orm.Eq("author", "range"))
	if n, err := q.Count(ctx); err != nil || n != 10 {
		t.Fatalf("count = %d, %v", n, err)
	}
	// Delete hours 0..4.
	if err := q.Where(orm.Lt("created", base.Add(5*time.Hour))).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Count(ctx); n != 5 {
		t.Fatalf("after range delete count = %d, want 5", n)
	}
	// A range delete on a non-key column is refused.
	if err := q.Where(orm.Eq("title", "t")).Delete(ctx); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("got %v", err)
	}
	if err := posts.Delete(ctx, "range"); err != nil { // whole partition
		t.Fatal(err)
	}
	if n, _ := q.Count(ctx); n != 0 {
		t.Fatalf("after partition delete count = %d", n)
	}
}

func TestCounters(t *testing.T) {
	db := openDB(t)
	views := newModel[PostViews](t, db)
	ctx := t.Context()
	key := []any{"ann"}
	for range 3 {
		if err := views.Patch(ctx, key, []orm.Change{orm.Increment("views", 2), orm.Increment("likes", 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := views.Patch(ctx, key, []orm.Change{orm.Increment("likes", -1)}); err != nil {
		t.Fatal(err)
	}
	got, err := views.Get(ctx, key...)
	if err != nil {
		t.Fatal(err)
	}
	if got.Views != 6 || got.Likes != 2 {
		t.Fatalf("counters = %+v", got)
	}
	if err := views.Insert(ctx, &got); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("insert into a counter table: %v", err)
	}
	if err := views.Patch(ctx, key, []orm.Change{orm.Set("views", 1)}); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("set on a counter: %v", err)
	}
}

func TestTTLAndWriteTime(t *testing.T) {
	db := openDB(t)
	posts := newModel[Post](t, db)
	ctx := t.Context()
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	p := Post{Author: "ttl", Created: at, Title: "expiring"}
	if err := posts.Insert(ctx, &p, orm.WithTTL(time.Hour), orm.WithTimestamp(at)); err != nil {
		t.Fatal(err)
	}
	meta, err := posts.CellMeta(ctx, "title", "ttl", at)
	if err != nil {
		t.Fatal(err)
	}
	if !meta.WriteTime.Equal(at) {
		t.Errorf("write time %v, want %v", meta.WriteTime, at)
	}
	if meta.TTL <= 59*time.Minute || meta.TTL > time.Hour {
		t.Errorf("ttl %v, want just under an hour", meta.TTL)
	}
	if _, err := posts.CellMeta(ctx, "tags", "ttl", at); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Errorf("cell meta of a collection: %v", err)
	}
}

// Hooked records the hooks that ran and checks validation.
type Hooked struct {
	ID    int64  `cql:"id" orm:"pk"`
	Email string `cql:"email" validate:"required,email"`
	Age   int32  `cql:"age" validate:"min=0,max=150"`
	Code  string `cql:"code" validate:"pattern=^[A-Z]{3}$"`
	calls []string
}

func (h *Hooked) BeforeInsert(context.Context) error {
	h.calls = append(h.calls, "before insert")
	if h.Code == "" {
		h.Code = "DEF"
	}
	return nil
}
func (h *Hooked) AfterInsert(context.Context) error {
	h.calls = append(h.calls, "after insert")
	return nil
}
func (h *Hooked) BeforeUpdate(context.Context) error {
	h.calls = append(h.calls, "before update")
	return nil
}
func (h *Hooked) AfterLoad(context.Context) error {
	h.calls = append(h.calls, "after load")
	return nil
}
func (h *Hooked) BeforeDelete(context.Context) error {
	if h.ID == 13 {
		return errors.New("13 is kept")
	}
	return nil
}
func (h *Hooked) Validate() error {
	if h.Age == 42 && h.Code == "XXX" {
		return errors.New("the answer cannot be XXX")
	}
	return nil
}

func TestHooksAndValidation(t *testing.T) {
	db := openDB(t)
	m := newModel[Hooked](t, db)
	ctx := t.Context()
	h := Hooked{ID: 1, Email: "a@example.com", Age: 30}
	if err := m.Insert(ctx, &h); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h.calls, []string{"before insert", "after insert"}) || h.Code != "DEF" {
		t.Fatalf("calls %v code %q", h.calls, h.Code)
	}
	got, err := m.Get(ctx, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.calls, []string{"after load"}) || got.Code != "DEF" {
		t.Fatalf("loaded %+v", got)
	}

	cases := []struct {
		name string
		row  Hooked
		want []string
	}{
		{"required and email", Hooked{ID: 2, Email: ""}, []string{"email: is required"}},
		{"bad email", Hooked{ID: 2, Email: "not an email"}, []string{"email: must be an email address"}},
		{"range", Hooked{ID: 2, Email: "b@example.com", Age: 200}, []string{"age: must be at most 150"}},
		{"pattern", Hooked{ID: 2, Email: "b@example.com", Code: "abc"}, []string{"code: must match"}},
		{"custom", Hooked{ID: 2, Email: "b@example.com", Age: 42, Code: "XXX"}, []string{"the answer cannot be XXX"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := m.Insert(ctx, &c.row)
			if !errors.Is(err, orm.ErrValidation) {
				t.Fatalf("got %v, want ErrValidation", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := m.Get(ctx, int64(2)); !errors.Is(err, orm.ErrNotFound) {
				t.Errorf("an invalid row was written: %v", err)
			}
		})
	}
	var ve *orm.ValidationError
	if err := m.Insert(ctx, &Hooked{ID: 3, Age: -1}); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("want two field errors, got %v", err)
	}

	if err := m.Delete(ctx, int64(13)); err == nil || !strings.Contains(err.Error(), "13 is kept") {
		t.Fatalf("before delete hook did not stop the delete: %v", err)
	}
}
