package cqrs_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
)

func TestNewID(t *testing.T) {
	uuid7 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	prev := ""
	for range 1000 {
		id := cqrs.NewID()
		if !uuid7.MatchString(id) {
			t.Fatalf("NewID() = %q, not a version 7 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		if id[:13] < prev { // the millisecond timestamp
			t.Fatalf("NewID() = %q sorts before the earlier %q", id, prev)
		}
		prev = id[:13]
	}
}

func TestStamp(t *testing.T) {
	orig := cqrs.Message{Topic: "old", Payload: []byte("p"), Metadata: map[string]string{"a": "1"}}
	m := cqrs.Stamp("orders", orig)
	if m.Topic != "orders" || m.ID == "" || time.Since(m.Time) > time.Minute {
		t.Fatalf("Stamp = %+v, want topic orders, an ID and the current time", m)
	}
	m.Payload[0] = 'x'
	m.Metadata["a"] = "2"
	if string(orig.Payload) != "p" || orig.Metadata["a"] != "1" {
		t.Fatal("Stamp shares memory with its argument")
	}
	kept := cqrs.Message{ID: "id-1", Time: time.Unix(1, 0)}
	if m := cqrs.Stamp("t", kept); m.ID != "id-1" || !m.Time.Equal(kept.Time) {
		t.Fatalf("Stamp replaced a given ID or Time: %+v", m)
	}
}
