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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
)

// Timeout bounds every wait of the suite for a delivery. A transport that
// passes takes a small fraction of it.
const Timeout = 30 * time.Second

// Transport is what the suite needs to know of the transport under test.
type Transport struct {
	// NewBus returns a new bus for one subtest; the suite closes it when
	// the subtest ends. The bus must have the default poison topics
	// (cqrs.DefaultPoisonTopic) and MaxDeliveries as below. Required.
	NewBus func(t *testing.T) cqrs.EventBus
	// MaxDeliveries is the bus's configured MaxDeliveries; at least 3.
	MaxDeliveries int
	// Durable says that a message whose Publish returned nil outlives the
	// bus: a new group on another bus from NewBus receives it. Kafka is
	// durable; the in-process bus is not.
	Durable bool
}

// Run runs the conformance suite as parallel subtests of t. Each subtest
// uses a bus of its own and topics of its own, named with a random suffix,
// so runs against a shared broker do not see each other's messages.
func Run(t *testing.T, tr Transport) {
	if tr.NewBus == nil || tr.MaxDeliveries < 3 {
		t.Fatalf("bustest.Run: Transport needs NewBus and a MaxDeliveries of at least 3, got %+v", tr)
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T, tr Transport, bus cqrs.EventBus)
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
		{"PoisonAfterMaxDeliveries", testPoisonAfterMaxDeliveries},
		{"PoisonPermanentError", testPoisonPermanentError},
		{"PublishDuringClose", testPublishDuringClose},
		{"TenantFromContext", testTenantFromContext},
		{"TenantsInterleaved", testTenantsInterleaved},
		{"TenantAbsent", testTenantAbsent},
		{"TenantRefused", testTenantRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bus := tr.NewBus(t)
			t.Cleanup(func() {
				if err := bus.Close(); err != nil {
					t.Errorf("bus.Close: %v", err)
				}
			})
			tc.test(t, tr, bus)
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

// progress wakes the waits of eventually: handlers tick it each time they
// change what a condition looks at. Safe for concurrent use.
type progress struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced by tick
}

func newProgress() *progress { return &progress{ch: make(chan struct{})} }

func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.ch)
	p.ch = make(chan struct{})
}

// changed returns a channel closed at the next tick.
func (p *progress) changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch
}

// recorder collects deliveries; safe for concurrent use.
type recorder struct {
	progress *progress // ticked on each delivery

	mu    sync.Mutex
	msgs  []cqrs.Message // in delivery order, duplicates included
	count map[string]int // by ID
}

// newRecorder returns a recorder that ticks p.
func newRecorder(p *progress) *recorder { return &recorder{progress: p, count: make(map[string]int)} }

func (r *recorder) add(m cqrs.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.count[m.ID]++
	r.mu.Unlock()
	r.progress.tick()
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

// eventually waits until cond holds, checking it again at each tick of p,
// failing t after Timeout.
func eventually(t *testing.T, what string, p *progress, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		changed := p.changed() // before cond: a tick while cond runs is not missed
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("after %v: %s", Timeout, what)
		}
	}
}

// receive waits for a value from ch, failing t after Timeout.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Timeout):
		t.Fatalf("after %v: %s", Timeout, what)
		var zero T
		return zero
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

func testRoundTrip(t *testing.T, _ Transport, bus cqrs.EventBus) {
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
	rec := newRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)

	before := time.Now()
	publish(t, bus, topic, full, bare)
	// Publish must not keep the caller's memory.
	full.Payload[0] = 'X'
	full.Metadata["tenant"] = "changed"
	eventually(t, "both messages delivered", rec.progress, func() bool { return rec.deliveries() >= 2 })

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

func testPerKeyOrder(t *testing.T, _ Transport, bus cqrs.EventBus) {
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
		prog     = newProgress()
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
		runtime.Gosched() // give a second delivery of the key the chance to overlap
		mu.Lock()
		seen[i] = true
		inflight[m.Key]--
		mu.Unlock()
		prog.tick()
		return nil
	}
	subscribe(t, bus, t.Context(), topic, "g", h)
	for i := 0; i < n; i += 50 {
		publish(t, bus, topic, msgs[i:i+50]...)
	}
	eventually(t, "all 200 messages delivered", prog, func() bool {
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

func testGroupsEachReceiveAll(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	msgs, ids := numbered(50, keys(7)...)
	prog := newProgress()
	a, b := newRecorder(prog), newRecorder(prog)
	subscribe(t, bus, t.Context(), topic, "group-a", a.handler)
	subscribe(t, bus, t.Context(), topic, "group-b", b.handler)
	publish(t, bus, topic, msgs...)
	eventually(t, "group a received every message", prog, func() bool { return a.has(ids...) })
	eventually(t, "group b received every message", prog, func() bool { return b.has(ids...) })
	t.Logf("duplicates: group a %d, group b %d", a.duplicates(), b.duplicates())
}

func testGroupMembersShare(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	prog := newProgress()
	a, b := newRecorder(prog), newRecorder(prog)
	subscribe(t, bus, t.Context(), topic, "g", a.handler)
	subscribe(t, bus, t.Context(), topic, "g", b.handler)

	together := func(ids []string) func() bool {
		return func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, id := range ids {
				if a.count[id]+b.count[id] == 0 {
					return false
				}
			}
			return true
		}
	}
	// Publish in rounds, each once the last one is delivered, until both
	// members have had a share: a transport may take a while to hand
	// partitions to a member that just joined.
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
		eventually(t, fmt.Sprintf("the members together received round %d", round), prog, together(ids))
	}
	eventually(t, "the members together received every message", prog, together(all))
	both := 0
	for _, id := range all {
		if a.has(id) && b.has(id) {
			both++
		}
	}
	t.Logf("%d messages: member a %d deliveries, member b %d; %d messages reached both, %d duplicates within a member",
		len(all), a.deliveries(), b.deliveries(), both, a.duplicates()+b.duplicates())
}

func testRedeliverOnError(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	first := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "first"}
	second := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "second"}
	const failures = 2
	var (
		mu     sync.Mutex
		events []string // "first", "first", "first", "second"
		prog   = newProgress()
	)
	errBoom := errors.New("boom")
	h := func(_ context.Context, m cqrs.Message) error {
		defer prog.tick()
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
	eventually(t, "the failed message redelivered and the next one delivered", prog, func() bool {
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

func testAtLeastOnceAcrossCrash(t *testing.T, _ Transport, bus cqrs.EventBus) {
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

	rec := newRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	eventually(t, "the second member received every unacknowledged message", rec.progress, func() bool { return rec.has(ids[acked:]...) })
	got := rec.snapshot()
	if first := index[got[0].ID]; first != acked {
		t.Errorf("second member started at message %d, want %d (the first one not acknowledged)", first, acked)
	}
	t.Logf("second member: %d deliveries, %d duplicates", len(got), rec.duplicates())
}

func testSubscriptionClose(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	prog := newProgress()
	closedRec, cancelledRec := newRecorder(prog), newRecorder(prog)
	closed := subscribe(t, bus, t.Context(), topic, "closed", closedRec.handler)
	ctx, cancel := context.WithCancel(t.Context())
	subscribe(t, bus, ctx, topic, "cancelled", cancelledRec.handler)

	before, beforeIDs := numbered(3, "k")
	publish(t, bus, topic, before...)
	eventually(t, "the first messages delivered to both groups", prog, func() bool {
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
	rec := newRecorder(prog)
	subscribe(t, bus, t.Context(), topic, "closed", rec.handler)
	eventually(t, "the new member received the new messages", prog, func() bool { return rec.has(afterIDs...) })
	for _, m := range rec.snapshot() {
		if slicesContain(beforeIDs, m.ID) {
			t.Errorf("new member received %s, acknowledged before the group's member closed", m.ID)
		}
	}
	// The new messages are delivered, so they were there to be had; but
	// no handler of a closed subscription runs once Close has returned,
	// and none of one whose context is done.
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

func testBusClose(t *testing.T, _ Transport, bus cqrs.EventBus) {
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

func testPublishCancelled(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	lost := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
	if err := bus.Publish(ctx, topic, lost); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context = %v, want context.Canceled", err)
	}
	marker := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
	publish(t, bus, topic, marker)
	rec := newRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	eventually(t, "the message published after delivered", rec.progress, func() bool { return rec.has(marker.ID) })
	if rec.has(lost.ID) {
		t.Errorf("message given to Publish with a cancelled context was delivered")
	}
}

func testInvalidArguments(t *testing.T, _ Transport, bus cqrs.EventBus) {
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

// poisonCase runs a handler that fails on the message of type "bad", as
// fail says, and checks that the message reaches the poison topic, marked
// with the group, the deliveries and the error, after wantDeliveries
// calls, and that the next message of its key arrives after it.
func poisonCase(t *testing.T, bus cqrs.EventBus, fail func(attempt int) error, wantDeliveries int, wantErr string) {
	t.Helper()
	topic := topicName(t)
	prog := newProgress()
	poisoned := newRecorder(prog)
	subscribe(t, bus, t.Context(), cqrs.DefaultPoisonTopic(topic, "g"), "dead-letters", poisoned.handler)

	bad := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "bad", Payload: []byte("undecodable"),
		Metadata: map[string]string{"tenant": "acme"}, Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)}
	next := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "next"}
	other := cqrs.Message{ID: cqrs.NewID(), Key: "other-key", Type: "next"}
	var (
		mu           sync.Mutex
		calls        int // of the bad message
		callsAtNext  = -1
		nextHandled  = make(map[string]bool)
		errsObserved []string
	)
	h := func(_ context.Context, m cqrs.Message) error {
		defer prog.tick()
		mu.Lock()
		defer mu.Unlock()
		if m.Type == "bad" {
			calls++
			return fail(calls)
		}
		if m.Key == "k" && callsAtNext < 0 {
			callsAtNext = calls
		}
		nextHandled[m.ID] = true
		return nil
	}
	subscribe(t, bus, t.Context(), topic, "g", h)
	publish(t, bus, topic, bad, next, other)
	eventually(t, "the bad message poisoned and the later ones delivered", prog, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return poisoned.has(bad.ID) && nextHandled[next.ID] && nextHandled[other.ID]
	})

	mu.Lock()
	if calls != wantDeliveries {
		errsObserved = append(errsObserved, fmt.Sprintf("handler called %d times for the poison message, want %d", calls, wantDeliveries))
	}
	if callsAtNext != wantDeliveries {
		errsObserved = append(errsObserved, fmt.Sprintf("next message of the key handled after %d calls of the poison one, want after all %d", callsAtNext, wantDeliveries))
	}
	mu.Unlock()
	for _, e := range errsObserved {
		t.Error(e)
	}
	var got cqrs.Message
	for _, m := range poisoned.snapshot() {
		if m.ID == bad.ID {
			got = m
		}
	}
	if got.Topic != cqrs.DefaultPoisonTopic(topic, "g") || got.Key != bad.Key || got.Type != bad.Type ||
		!bytes.Equal(got.Payload, bad.Payload) || !got.Time.Equal(bad.Time) {
		t.Errorf("poison message = %+v, want %+v on topic %s", got, bad, cqrs.DefaultPoisonTopic(topic, "g"))
	}
	wantMeta := map[string]string{
		"tenant":                  "acme",
		cqrs.MetaPoisonTopic:      topic,
		cqrs.MetaPoisonGroup:      "g",
		cqrs.MetaPoisonDeliveries: strconv.Itoa(wantDeliveries),
	}
	for k, v := range wantMeta {
		if got.Metadata[k] != v {
			t.Errorf("poison message metadata %s = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if e := got.Metadata[cqrs.MetaPoisonError]; !strings.Contains(e, wantErr) {
		t.Errorf("poison message metadata %s = %q, want it to contain %q", cqrs.MetaPoisonError, e, wantErr)
	}
}

func testPoisonAfterMaxDeliveries(t *testing.T, tr Transport, bus cqrs.EventBus) {
	poisonCase(t, bus, func(attempt int) error { return fmt.Errorf("attempt %d: boom", attempt) },
		tr.MaxDeliveries, fmt.Sprintf("attempt %d: boom", tr.MaxDeliveries))
}

func testPoisonPermanentError(t *testing.T, _ Transport, bus cqrs.EventBus) {
	poisonCase(t, bus, func(int) error { return cqrs.Permanent(errors.New("cannot decode")) }, 1, "cannot decode")
}

// testPublishDuringClose races publishers with Close: each Publish
// succeeds or fails with ErrClosed, and fails with it once it has; Close
// and the publishers return; and on a durable transport every message
// whose Publish succeeded reaches a new group on a new bus.
func testPublishDuringClose(t *testing.T, tr Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	rec := newRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)

	const publishers = 4
	var (
		mu      sync.Mutex
		acked   []string
		refused []error // by each publisher, its first error and the one after
		wg      sync.WaitGroup
	)
	for w := range publishers {
		wg.Go(func() {
			failures := 0
			for i := 0; failures < 2; i++ {
				m := cqrs.Message{ID: cqrs.NewID(), Key: fmt.Sprintf("publisher-%d", w), Type: strconv.Itoa(i)}
				err := bus.Publish(t.Context(), topic, m)
				mu.Lock()
				if err == nil {
					if failures > 0 {
						refused = append(refused, fmt.Errorf("publisher %d: Publish succeeded after it had failed", w))
					}
					acked = append(acked, m.ID)
				} else {
					refused = append(refused, err)
					failures++
				}
				mu.Unlock()
			}
		})
	}
	// Close once the subscriber has handled some of the messages.
	eventually(t, "some messages delivered before Close", rec.progress, func() bool { return rec.deliveries() >= 10 })
	closed := make(chan error, 1)
	go func() { closed <- bus.Close() }()
	if err := receive(t, "bus Close to return while publishers race with it", closed); err != nil {
		t.Errorf("Close: %v", err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	receive(t, "the publishers to return once the bus closed", done)

	mu.Lock()
	defer mu.Unlock()
	for _, err := range refused {
		if !errors.Is(err, cqrs.ErrClosed) {
			t.Errorf("Publish racing with Close = %v, want success or ErrClosed", err)
		} else if !strings.Contains(err.Error(), topic) {
			t.Errorf("Publish after Close = %v, want an error naming the topic %s", err, topic)
		}
	}
	t.Logf("%d publishes acknowledged, %d delivered before Close", len(acked), rec.deliveries())
	if !tr.Durable {
		return
	}
	again := tr.NewBus(t)
	t.Cleanup(func() { _ = again.Close() })
	after := newRecorder(newProgress())
	subscribe(t, again, t.Context(), topic, "after-close", after.handler)
	eventually(t, fmt.Sprintf("a new group on a new bus received the %d acknowledged messages", len(acked)),
		after.progress, func() bool { return after.has(acked...) })
}
