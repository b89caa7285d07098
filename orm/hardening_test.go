package orm_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestTTLBelowOneSecondExpires: a TTL under one second used to become 0, which
// means "never expires".
func TestTTLBelowOneSecondExpires(t *testing.T) {
	posts := newModel[Post](t, openDB(t))
	ctx := t.Context()
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := posts.Insert(ctx, &Post{Author: "ttl-short", Created: at, Title: "brief"}, orm.WithTTL(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	meta, err := posts.CellMeta(ctx, "title", "ttl-short", at)
	switch {
	case errors.Is(err, orm.ErrNotFound):
		// Expired already: it did not live forever.
	case err != nil:
		t.Fatal(err)
	case !meta.WriteTime.IsZero() && meta.TTL == 0:
		t.Fatalf("a 300ms TTL was written as no TTL: the value never expires")
	}
}

func TestTTLOutOfRangeRefused(t *testing.T) {
	posts := newModel[Post](t, openDB(t))
	ctx := t.Context()
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, ttl := range []time.Duration{-time.Second, -time.Nanosecond, 20 * 366 * 24 * time.Hour} {
		p := &Post{Author: "ttl-bad", Created: at, Title: "never"}
		writes := map[string]error{
			"insert": posts.Insert(ctx, p, orm.WithTTL(ttl)),
			"update": posts.Update(ctx, p, orm.WithTTL(ttl)),
			"patch":  posts.Patch(ctx, []any{"ttl-bad", at}, []orm.Change{orm.Set("title", "x")}, orm.WithTTL(ttl)),
		}
		for op, err := range writes {
			if !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), "post") {
				t.Errorf("%s with TTL %v: %v; want ErrInvalidValue naming the table", op, ttl, err)
			}
		}
	}
	if _, err := posts.Get(ctx, "ttl-bad", at); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("a refused write wrote: %v", err)
	}
}

// TestQueryDeleteOnSoftDeleteModelRefused: Query.Delete used to remove rows of a
// soft-delete model for good.
func TestQueryDeleteOnSoftDeleteModelRefused(t *testing.T) {
	notes := newModel[Note](t, openDB(t))
	ctx := t.Context()
	for i := range 3 {
		if err := notes.Insert(ctx, &Note{Owner: "qd", ID: int32(i), Text: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	err := notes.Query().Where(orm.Eq("owner", "qd"), orm.Gte("id", int32(1))).Delete(ctx)
	if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "note") {
		t.Fatalf("range delete on a soft-delete model: %v; want ErrInvalidQuery naming the table", err)
	}
	for i := range 3 {
		if _, err := notes.Get(ctx, "qd", int32(i)); err != nil {
			t.Fatalf("row %d after a refused range delete: %v", i, err)
		}
	}
}

// Blobby has a blob and an inet column.
type Blobby struct {
	ID   int32  `cql:"id" orm:"pk"`
	Blob []byte `cql:"blob"`
	IP   net.IP `cql:"ip"`
}

// TestEmptyBlobReadsBackEmpty: the driver reads an empty blob as nil, like a null.
func TestEmptyBlobReadsBackEmpty(t *testing.T) {
	m := newModel[Blobby](t, openDB(t))
	ctx := t.Context()
	for id, b := range map[int32][]byte{1: {}, 2: nil, 3: {0}} {
		if err := m.Insert(ctx, &Blobby{ID: id, Blob: b}); err != nil {
			t.Fatal(err)
		}
		got, err := m.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if (got.Blob == nil) != (b == nil) || !bytes.Equal(got.Blob, b) {
			t.Errorf("blob %#v read back by Get as %#v", b, got.Blob)
		}
		for row, err := range m.Query().Where(orm.Eq("id", id)).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if (row.Blob == nil) != (b == nil) {
				t.Errorf("blob %#v read back by a query as %#v", b, row.Blob)
			}
		}
	}
}

// TestInetForms pins down what docs/orm.md says of inet: net.IP has a single form for
// an IPv4 address and its IPv4-mapped IPv6 form, which are both stored and read
// back as the 4-byte IPv4 address; IPv6 addresses keep their 16 bytes.
func TestInetForms(t *testing.T) {
	m := newModel[Blobby](t, openDB(t))
	ctx := t.Context()
	cases := []struct {
		in   net.IP
		want net.IP
	}{
		{net.ParseIP("::ffff:192.0.2.1"), net.IPv4(192, 0, 2, 1).To4()},
		{net.ParseIP("192.0.2.1"), net.IPv4(192, 0, 2, 1).To4()},
		{net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::1")},
	}
	for i, tc := range cases {
		id := int32(100 + i)
		if err := m.Insert(ctx, &Blobby{ID: id, IP: tc.in}); err != nil {
			t.Fatal(err)
		}
		got, err := m.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		//lint:ignore SA1021 the form read back (4 or 16 bytes) is what this checks
		if !bytes.Equal(got.IP, tc.want) {
			t.Errorf("inet %s read back as %#v, want %#v", tc.in, got.IP, tc.want)
		}
	}
}
