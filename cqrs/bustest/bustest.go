package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
)

// Timeout bounds every wait of the suite for a delivery. A transport that
// passes takes a small fraction of it.
const Timeout = 30 * time.Second

// Run runs the conformance suite as parallel subtests of t. newBus returns
// a new bus for one subtest; the suite closes it when the subtest ends.
// Each subtest uses topics of its own, named with a random suffix, so runs
// against a shared broker do not see each other's messages.
func Run(t *testing.T, newBus func(t *testing.T) cqrs.EventBus) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, bus cqrs.EventBus)
	}{
		{"RoundTrip", testRoundTrip},
		{"PerKeyOrder", testPerKeyOrder},
		{"GroupsEachReceiveAll", testGroupsEachReceiveAll},
		{"GroupMembersShare", testGroupMembersShare},
		{"RedeliverOnError", testRedeliverOnError},
		{"AtLeastOnceAcrossCrash", testAtLeastOnceAcrossCrash},
		{"SubscriptionClose", testSubscriptionClose},
		{"BusClose", testBusClose},
		{"PublishCancelled", testPublishCancelled},
		{"InvalidArguments", testInvalidArguments},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bus := newBus(t)
			t.Cleanup(func() {
				if err := bus.Close(); err != nil {
					t.Errorf("bus.Close: %v", err)
				}
			})
			tc.test(t, bus)
		})
	}
}

// topicName returns a topic name unique to this run of t.
func topicName(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	return "bustest." + name + "." + hex.EncodeToString(b[:])
}

// recorder collects deliveries; safe for concurrent use.
type recorder struct {
	mu    sync.Mutex
	msgs  []cqrs.Message // in delivery order, duplicates included
	count map[string]int // by ID
}

func newRecorder() *recorder { return &recorder{count: make(map[string]int)} }

func (r *recorder) add(m cqrs.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	r.count[m.ID]++
}

func (r *recorder) handler(_ context.Context, m cqrs.Message) error {
	r.add(m)
	return nil
}

// deliveries is the number of deliveries so far, duplicates included.
func (r *recorder) deliveries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// has reports whether every id was delivered at least once.
func (r *recorder) has(ids ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.count[id] == 0 {
			return false
		}
	}
	return true
}

func (r *recorder) snapshot() []cqrs.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cqrs.Message(nil), r.msgs...)
}

// duplicates counts the deliveries beyond the first of each message.
func (r *recorder) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs) - len(r.count)
}

// eventually waits until cond holds, failing t after Timeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", Timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func subscribe(t *testing.T, bus cqrs.EventBus, ctx context.Context, topic, group string, h cqrs.Handler) cqrs.Subscription {
	t.Helper()
	sub, err := bus.Subscribe(ctx, topic, group, h)
	if err != nil {
		t.Fatalf("Subscribe(%s, %s): %v", topic, group, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func publish(t *testing.T, bus cqrs.EventBus, topic string, msgs ...cqrs.Message) {
	t.Helper()
	if err := bus.Publish(t.Context(), topic, msgs...); err != nil {
		t.Fatalf("Publish(%s, %d messages): %v", topic, len(msgs), err)
	}
}

// numbered returns n messages with fresh ids, spread over keys round
// robin, their Type "n" with their index.
func numbered(n int, keys ...string) ([]cqrs.Message, []string) {
	msgs := make([]cqrs.Message, n)
	ids := make([]string, n)
	for i := range msgs {
		ids[i] = cqrs.NewID()
		msgs[i] = cqrs.Message{ID: ids[i], Key: keys[i%len(keys)], Type: "n", Payload: fmt.Appendf(nil, "%d", i)}
	}
	return msgs, ids
}

func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf("key-%d", i)
	}
	return k
}

func testRoundTrip(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	full := cqrs.Message{
		ID:      cqrs.NewID(),
		Topic:   "ignored: Publish sets it",
		Key:     "order-42",
		Type:    "order.placed",
		Payload: []byte("{\"total\":12}\x00\xff binary"),
		Metadata: map[string]string{
			"correlation_id": "c-1", "causation_id": "c-0", "tenant": "acme",
			"actor": "user:7", "empty": "", "unicode": "ünïcødé",
		},
		Time: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 3600)),
	}
	want := full.Clone()
	bare := cqrs.Message{Key: "order-43", Type: "order.cancelled"}
	rec := newRecorder()
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)

	before := time.Now()
	publish(t, bus, topic, full, bare)
	// Publish must not keep the caller's memory.
	full.Payload[0] = 'X'
	full.Metadata["tenant"] = "changed"
	eventually(t, "both messages delivered", func() bool { return rec.deliveries() >= 2 })

	var got, gotBare cqrs.Message
	for _, m := range rec.snapshot() {
		if m.Type == want.Type {
			got = m
		} else {
			gotBare = m
		}
	}
	if got.ID != want.ID || got.Topic != topic || got.Key != want.Key || got.Type != want.Type {
		t.Errorf("delivered ID, Topic, Key, Type = %q, %q, %q, %q; want %q, %q, %q, %q",
			got.ID, got.Topic, got.Key, got.Type, want.ID, topic, want.Key, want.Type)
	}
	if !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("Payload = %q, want %q", got.Payload, want.Payload)
	}
	if !maps.Equal(got.Metadata, want.Metadata) {
		t.Errorf("Metadata = %v, want %v", got.Metadata, want.Metadata)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	if gotBare.ID == "" || gotBare.ID == want.ID {
		t.Errorf("message published without ID delivered with ID %q, want a fresh one", gotBare.ID)
	}
	if gotBare.Topic != topic || gotBare.Key != bare.Key {
		t.Errorf("bare message Topic, Key = %q, %q; want %q, %q", gotBare.Topic, gotBare.Key, topic, bare.Key)
	}
	if gotBare.Time.Before(before.Add(-time.Second)) || gotBare.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("message published with zero Time delivered with Time %v, want about %v", gotBare.Time, before)
	}
	if len(gotBare.Payload) != 0 || len(gotBare.Metadata) != 0 {
		t.Errorf("bare message Payload, Metadata = %q, %v; want empty", gotBare.Payload, gotBare.Metadata)
	}
}

func testPerKeyOrder(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	const n = 200
	msgs, ids := numbered(n, keys(5)...)
	index := make(map[string]int, n)
	for i, id := range ids {
		index[id] = i
	}

	var (
		mu       sync.Mutex
		seen     = make(map[int]bool)
		inflight = make(map[string]int)
		errs     []string
	)
	h := func(_ context.Context, m cqrs.Message) error {
		i := index[m.ID]
		mu.Lock()
		inflight[m.Key]++
		if inflight[m.Key] > 1 {
			errs = append(errs, fmt.Sprintf("two messages of key %s handled at once", m.Key))
		}
		// Message i may come (again) only after every earlier message of
		// its key came at least once.
		for j := i % 5; j < i; j += 5 {
			if !seen[j] {
				errs = append(errs, fmt.Sprintf("message %d of key %s delivered before message %d", i, m.Key, j))
				break
			}
		}
		mu.Unlock()
		// Let other handlers run while this one is in flight, so that a
		// second message of the key handled at once shows.
		runtime.Gosched()
		mu.Lock()
		seen[i] = true
		inflight[m.Key]--
		mu.Unlock()
		return nil
	}
	subscribe(t, bus, t.Context(), topic, "g", h)
	for i := 0; i < n; i += 50 {
		publish(t, bus, topic, msgs[i:i+50]...)
	}
	eventually(t, "all 200 messages delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs[:min(len(errs), 10)] {
		t.Error(e)
	}
}

func testGroupsEachReceiveAll(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	msgs, ids := numbered(50, keys(7)...)
	a, b := newRecorder(), newRecorder()
	subscribe(t, bus, t.Context(), topic, "group-a", a.handler)
	subscribe(t, bus, t.Context(), topic, "group-b", b.handler)
	publish(t, bus, topic, msgs...)
	eventually(t, "group a received every message", func() bool { return a.has(ids...) })
	eventually(t, "group b received every message", func() bool { return b.has(ids...) })
	t.Logf("duplicates: group a %d, group b %d", a.duplicates(), b.duplicates())
}

func testGroupMembersShare(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	a, b := newRecorder(), newRecorder()
	subscribe(t, bus, t.Context(), topic, "g", a.handler)
	subscribe(t, bus, t.Context(), topic, "g", b.handler)

	// Publish in rounds until both members have had a share: a transport
	// may take a while to hand partitions to a member that just joined.
	var all []string
	deadline := time.Now().Add(Timeout)
	for round := 0; a.deliveries() == 0 || b.deliveries() == 0; round++ {
		if time.Now().After(deadline) {
			t.Fatalf("after %v and %d messages: member a received %d, member b %d; want both some",
				Timeout, len(all), a.deliveries(), b.deliveries())
		}
		msgs, ids := numbered(20, keys(20)...)
		publish(t, bus, topic, msgs...)
		all = append(all, ids...)
		eventually(t, "the members together received the round's messages", func() bool {
			for _, id := range ids {
				if !a.has(id) && !b.has(id) {
					return false
				}
			}
			return true
		})
	}
	eventually(t, "the members together received every message", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, id := range all {
			if a.count[id]+b.count[id] == 0 {
				return false
			}
		}
		return true
	})
	both := 0
	for _, id := range all {
		if a.has(id) && b.has(id) {
			both++
		}
	}
	t.Logf("%d messages: member a %d deliveries, member b %d; %d messages reached both, %d duplicates within a member",
		len(all), a.deliveries(), b.deliveries(), both, a.duplicates()+b.duplicates())
}

func testRedeliverOnError(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	first := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "first"}
	second := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "second"}
	const failures = 2
	var (
		mu     sync.Mutex
		events []string // "first", "first", "first", "second"
	)
	errBoom := errors.New("boom")
	h := func(_ context.Context, m cqrs.Message) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, m.Type)
		if m.Type == "first" && len(events) <= failures {
			return errBoom
		}
		return nil
	}
	subscribe(t, bus, t.Context(), topic, "g", h)
	publish(t, bus, topic, first, second)
	eventually(t, "the failed message redelivered and the next one delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= failures+2
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"first", "first", "first", "second"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("deliveries = %v, want %v (the failed message redelivered until acknowledged, the next of its key after it)", events, want)
	}
}

func testAtLeastOnceAcrossCrash(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	const n, acked = 20, 5
	msgs, ids := numbered(n, "one-key")
	index := make(map[string]int, n)
	for i, id := range ids {
		index[id] = i
	}
	stuck := make(chan struct{})
	var once sync.Once
	var late []int
	var mu sync.Mutex
	h1 := func(ctx context.Context, m cqrs.Message) error {
		i := index[m.ID]
		switch {
		case i < acked:
			return nil
		case i == acked:
			// In flight when the member goes away: never acknowledged.
			once.Do(func() { close(stuck) })
			<-ctx.Done()
			return ctx.Err()
		default:
			mu.Lock()
			late = append(late, i)
			mu.Unlock()
			return nil
		}
	}
	sub1 := subscribe(t, bus, t.Context(), topic, "g", h1)
	publish(t, bus, topic, msgs...)
	select {
	case <-stuck:
	case <-time.After(Timeout):
		t.Fatalf("after %v: message %d never reached the first member", Timeout, acked)
	}
	closed := make(chan error, 1)
	go func() { closed <- sub1.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close with a handler in flight: %v", err)
		}
	case <-time.After(Timeout):
		t.Fatalf("Close did not return within %v while a handler waited for its context", Timeout)
	}
	mu.Lock()
	if len(late) > 0 {
		t.Errorf("first member received messages %v after the unacknowledged message %d of the same key", late, acked)
	}
	mu.Unlock()

	rec := newRecorder()
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	eventually(t, "the second member received every unacknowledged message", func() bool { return rec.has(ids[acked:]...) })
	got := rec.snapshot()
	if first := index[got[0].ID]; first != acked {
		t.Errorf("second member started at message %d, want %d (the first one not acknowledged)", first, acked)
	}
	t.Logf("second member: %d deliveries, %d duplicates", len(got), rec.duplicates())
}

func testSubscriptionClose(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	closedRec, cancelledRec := newRecorder(), newRecorder()
	closed := subscribe(t, bus, t.Context(), topic, "closed", closedRec.handler)
	ctx, cancel := context.WithCancel(t.Context())
	subscribe(t, bus, ctx, topic, "cancelled", cancelledRec.handler)

	before, beforeIDs := numbered(3, "k")
	publish(t, bus, topic, before...)
	eventually(t, "the first messages delivered to both groups", func() bool {
		return closedRec.has(beforeIDs...) && cancelledRec.has(beforeIDs...)
	})
	for i := range 2 {
		if err := closed.Close(); err != nil {
			t.Fatalf("Close call %d: %v", i+1, err)
		}
	}
	cancel()
	nClosed, nCancelled := closedRec.deliveries(), cancelledRec.deliveries()

	after, afterIDs := numbered(5, "k")
	publish(t, bus, topic, after...)
	// A new member of the group resumes after what the closed one
	// acknowledged: it gets the new messages only.
	rec := newRecorder()
	subscribe(t, bus, t.Context(), topic, "closed", rec.handler)
	eventually(t, "the new member received the new messages", func() bool { return rec.has(afterIDs...) })
	for _, m := range rec.snapshot() {
		if slicesContain(beforeIDs, m.ID) {
			t.Errorf("new member received %s, acknowledged before the group's member closed", m.ID)
		}
	}
	// The new member has them, so they were available to the closed
	// members too.
	if n := closedRec.deliveries(); n != nClosed {
		t.Errorf("closed subscription received %d messages after Close", n-nClosed)
	}
	if n := cancelledRec.deliveries(); n != nCancelled {
		t.Errorf("subscription whose context was cancelled received %d messages after", n-nCancelled)
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func testBusClose(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	started := make(chan struct{})
	var once sync.Once
	subscribe(t, bus, t.Context(), topic, "g", func(ctx context.Context, _ cqrs.Message) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return ctx.Err()
	})
	publish(t, bus, topic, cqrs.Message{Key: "k"})
	select {
	case <-started:
	case <-time.After(Timeout):
		t.Fatalf("after %v: no delivery", Timeout)
	}
	closed := make(chan error, 1)
	go func() { closed <- bus.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(Timeout):
		t.Fatalf("bus Close did not return within %v while a handler waited for its context", Timeout)
	}
	if err := bus.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := bus.Publish(t.Context(), topic, cqrs.Message{}); !errors.Is(err, cqrs.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := bus.Subscribe(t.Context(), topic, "g2", func(context.Context, cqrs.Message) error { return nil }); !errors.Is(err, cqrs.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func testPublishCancelled(t *testing.T, bus cqrs.EventBus) {
	topic := topicName(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	lost := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
	if err := bus.Publish(ctx, topic, lost); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context = %v, want context.Canceled", err)
	}
	marker := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
	publish(t, bus, topic, marker)
	rec := newRecorder()
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	eventually(t, "the message published after delivered", func() bool { return rec.has(marker.ID) })
	if rec.has(lost.ID) {
		t.Errorf("message given to Publish with a cancelled context was delivered")
	}
}

func testInvalidArguments(t *testing.T, bus cqrs.EventBus) {
	ok := func(context.Context, cqrs.Message) error { return nil }
	if err := bus.Publish(t.Context(), "", cqrs.Message{}); err == nil {
		t.Error("Publish to an empty topic: no error")
	}
	topic := topicName(t)
	for _, c := range []struct {
		name, topic, group string
		h                  cqrs.Handler
	}{
		{"empty topic", "", "g", ok},
		{"empty group", topic, "", ok},
		{"nil handler", topic, "g", nil},
	} {
		if sub, err := bus.Subscribe(t.Context(), c.topic, c.group, c.h); err == nil {
			_ = sub.Close()
			t.Errorf("Subscribe with %s: no error", c.name)
		}
	}
}
