package cqrs

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs/internal/deliver"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// MemoryConfig configures a MemoryBus. The zero value of each field means
// its documented default.
type MemoryConfig struct {
	// Partitions is how many partitions each topic has: the number of
	// messages a group handles at once, one per partition. Default 8.
	Partitions int
	// Backoff spaces the redeliveries of a message whose handler failed.
	// Default 100 ms doubling up to 5 s.
	Backoff retry.Backoff
	// MaxDeliveries is the most times a group's handler is called for one
	// message; when the calls fail that often, the message is poison: it
	// moves to the poison topic and the group goes on with the next one.
	// -1 redelivers until the handler succeeds, however long. Default 10.
	MaxDeliveries int
	// PoisonTopic names the topic where group's poison messages of topic
	// go, published on this bus, with the metadata of cqrs.Poisoned. It
	// must not return "" or topic itself. Default DefaultPoisonTopic:
	// topic + ".poison".
	PoisonTopic func(topic, group string) string
	// Logger receives handler failures, poisoned messages, and the
	// messages a group skips because MaxRetained dropped them. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxRetained is the most messages a topic keeps, over all its
	// partitions. A publish that goes beyond it drops the oldest messages
	// of the topic, whether or not every group has acknowledged them: a
	// group that had not yet received them skips them (with a warning in
	// the log), and TopicStats counts them. It bounds the memory of a
	// topic that no group reads, whose groups have no member, or whose
	// groups fall that far behind. Default 10000.
	MaxRetained int
}

// setDefaults replaces the zero fields of c with their defaults.
func (c *MemoryConfig) setDefaults() {
	if c.Partitions == 0 {
		c.Partitions = 8
	}
	if c.Backoff == (retry.Backoff{}) {
		c.Backoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxRetained == 0 {
		c.MaxRetained = 10000
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 10
	}
	if c.PoisonTopic == nil {
		c.PoisonTopic = DefaultPoisonTopic
	}
}

// Validate reports what is wrong with c after defaults are applied.
func (c MemoryConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("field Partitions %d: want at least 1", c.Partitions))
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("field Backoff: %w", err))
	}
	if c.MaxDeliveries < -1 {
		errs = append(errs, fmt.Errorf("MaxDeliveries %d: want -1 or at least 1", c.MaxDeliveries))
	}
	if c.MaxRetained < 1 {
		errs = append(errs, fmt.Errorf("MaxRetained %d: want at least 1", c.MaxRetained))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cqrs: invalid MemoryConfig: %w", err)
	}
	return nil
}

// MemoryBus is the in-process EventBus: the default when no broker is
// configured, and a fast stand-in for one in tests. It keeps the contract
// of a broker: topics split into partitions by key hash, consumer groups
// with committed offsets that outlive their subscriptions, per-key order,
// redelivery with backoff until a handler acknowledges or the message turns
// out to be poison.
//
// Messages live in memory only: they are lost when the process exits. A
// topic keeps each message until every group that exists has acknowledged
// it, and at most MemoryConfig.MaxRetained messages: beyond that the
// oldest are dropped. A topic that no group reads keeps its newest
// MaxRetained messages, for the first group that subscribes.
type MemoryBus struct {
	cfg  MemoryConfig
	seed maphash.Seed

	mu     sync.Mutex
	cond   *sync.Cond // signalled on publish, subscribe, close and commit
	closed bool
	topics map[string]*memTopic
	subs   map[*memSubscription]struct{}
	rr     int // spreads messages without a key over the partitions

	wg sync.WaitGroup // dispatchers
}

type memTopic struct {
	name     string
	parts    []memPartition
	groups   map[string]*memGroup
	seq      uint64 // of the last message published
	retained int    // messages in parts
	dropped  int    // over MaxRetained
}

// memPartition is an append-only log; messages before base were
// acknowledged by every group, or dropped over MaxRetained.
type memPartition struct {
	base int
	msgs []memEntry
}

// memEntry is a message and its place in the order of its topic.
type memEntry struct {
	seq uint64
	m   Message
}

func (p *memPartition) end() int { return p.base + len(p.msgs) }

type memGroup struct {
	name    string
	poison  string             // the topic of its poison messages
	members []*memSubscription // in join order; partition i goes to members[i%len]
	next    []int              // per partition, the offset after the last acknowledged message
}

// NewMemoryBus returns an empty in-process bus configured by cfg, or cfg's
// Validate error. Close it to stop its goroutines.
func NewMemoryBus(cfg MemoryConfig) (*MemoryBus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := &MemoryBus{
		cfg:    cfg,
		seed:   maphash.MakeSeed(),
		topics: make(map[string]*memTopic),
		subs:   make(map[*memSubscription]struct{}),
	}
	b.cond = sync.NewCond(&b.mu)
	return b, nil
}

// topic returns the named topic, created on first use. b.mu is held.
func (b *MemoryBus) topic(name string) *memTopic {
	t := b.topics[name]
	if t == nil {
		t = &memTopic{name: name, parts: make([]memPartition, b.cfg.Partitions), groups: make(map[string]*memGroup)}
		b.topics[name] = t
	}
	return t
}

// Publish appends msgs to topic; it returns once they are in the bus's
// memory. See Publisher.
func (b *MemoryBus) Publish(ctx context.Context, topic string, msgs ...Message) error {
	if topic == "" {
		return errors.New("cqrs: publish: empty topic")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cqrs: publish to %s: %w", topic, err)
	}
	stamped, err := Prepare(ctx, topic, msgs)
	if err != nil {
		return fmt.Errorf("cqrs: publish to %s: %w", topic, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("cqrs: publish to %s: %w", topic, ErrClosed)
	}
	b.append(b.topic(topic), stamped)
	return nil
}

// append appends msgs, stamped for t, to t. b.mu is held.
func (b *MemoryBus) append(t *memTopic, msgs []Message) {
	for _, m := range msgs {
		var p int
		if m.Key != "" {
			p = int(maphash.String(b.seed, m.Key) % uint64(len(t.parts)))
		} else {
			p = b.rr % len(t.parts)
			b.rr++
		}
		t.seq++
		t.parts[p].msgs = append(t.parts[p].msgs, memEntry{seq: t.seq, m: m})
		t.retained++
	}
	b.dropOverLimit(t)
	b.cond.Broadcast()
}

// dropOverLimit drops the oldest messages of t until it holds at most
// MaxRetained. b.mu is held.
func (b *MemoryBus) dropOverLimit(t *memTopic) {
	for t.retained > b.cfg.MaxRetained {
		oldest := -1
		for i := range t.parts {
			if len(t.parts[i].msgs) > 0 && (oldest < 0 || t.parts[i].msgs[0].seq < t.parts[oldest].msgs[0].seq) {
				oldest = i
			}
		}
		part := &t.parts[oldest]
		part.msgs[0] = memEntry{} // let the payload go
		part.msgs = part.msgs[1:]
		part.base++
		t.retained--
		t.dropped++
	}
}

// MemoryTopicStats is what a topic of a MemoryBus holds.
type MemoryTopicStats struct {
	// Retained is the number of messages the topic keeps: those that a
	// group has not acknowledged or, with no group, the newest published;
	// at most MemoryConfig.MaxRetained.
	Retained int
	// Dropped counts the messages dropped to keep Retained at most
	// MaxRetained.
	Dropped int
}

// TopicStats returns what topic holds; the zero MemoryTopicStats for a
// topic never published to or subscribed to.
func (b *MemoryBus) TopicStats(topic string) MemoryTopicStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[topic]
	if t == nil {
		return MemoryTopicStats{}
	}
	return MemoryTopicStats{Retained: t.retained, Dropped: t.dropped}
}

// Subscribe adds a member to group on topic. See Subscriber.
func (b *MemoryBus) Subscribe(ctx context.Context, topic, group string, h Handler) (Subscription, error) {
	switch {
	case topic == "":
		return nil, errors.New("cqrs: subscribe: empty topic")
	case group == "":
		return nil, errors.New("cqrs: subscribe: empty group")
	case h == nil:
		return nil, errors.New("cqrs: subscribe: nil handler")
	}
	poison := b.cfg.PoisonTopic(topic, group)
	if poison == "" || poison == topic {
		return nil, fmt.Errorf("cqrs: subscribe to %s in group %s: PoisonTopic returned %q; want another topic", topic, group, poison)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cqrs: subscribe to %s in group %s: %w", topic, group, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("cqrs: subscribe to %s in group %s: %w", topic, group, ErrClosed)
	}
	t := b.topic(topic)
	g := t.groups[group]
	if g == nil {
		g = &memGroup{name: group, poison: poison, next: make([]int, len(t.parts))}
		for i := range t.parts {
			g.next[i] = t.parts[i].base
		}
		t.groups[group] = g
		for p := range t.parts {
			b.wg.Go(func() { b.dispatch(t, g, p) })
		}
	}
	s := &memSubscription{bus: b, group: g}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.handler = h
	g.members = append(g.members, s)
	b.subs[s] = struct{}{}
	b.cond.Broadcast()
	return s, nil
}

// dispatch delivers partition p of t to group g, one message at a time,
// until the bus closes.
func (b *MemoryBus) dispatch(t *memTopic, g *memGroup, p int) {
	part := &t.parts[p]
	for {
		b.mu.Lock()
		// A member whose context is done is on its way out: its Close
		// removes it and signals.
		for !b.closed && (len(g.members) == 0 || g.next[p] >= part.end() ||
			g.members[p%len(g.members)].ctx.Err() != nil) {
			b.cond.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		if skipped := part.base - g.next[p]; skipped > 0 {
			b.cfg.Logger.Warn("cqrs: group skips messages dropped over MaxRetained before it received them",
				"topic", t.name, "group", g.name, "partition", p, "skipped", skipped)
			g.next[p] = part.base
			b.mu.Unlock()
			continue
		}
		off := g.next[p]
		m := part.msgs[off-part.base].m
		s := g.members[p%len(g.members)]
		s.inflight.Add(1) // under b.mu, before Close can mark s closed and wait
		b.mu.Unlock()

		res, n, err := deliver.Until(s.ctx, b.policy(g, m), func(ctx context.Context) error { return Deliver(ctx, s.handler, m) })
		s.inflight.Done()
		if res == deliver.Stopped {
			continue
		}
		b.mu.Lock()
		if res == deliver.Poisoned {
			b.cfg.Logger.Error("cqrs: message poisoned, moved to the poison topic", "topic", m.Topic, "group", g.name,
				"poison_topic", g.poison, "key", m.Key, "id", m.ID, "deliveries", n, "err", err)
			// Moved and acknowledged at once, under b.mu.
			b.append(b.topic(g.poison), []Message{Stamp(g.poison, Poisoned(m, g.name, n, err))})
		}
		g.next[p] = off + 1
		b.trim(t, p)
		b.mu.Unlock()
	}
}

// policy is the redelivery policy of m for group g.
func (b *MemoryBus) policy(g *memGroup, m Message) deliver.Policy {
	return deliver.Policy{
		Backoff:       b.cfg.Backoff,
		MaxDeliveries: b.cfg.MaxDeliveries,
		Permanent:     func(err error) bool { return errors.Is(err, ErrPoison) },
		OnRetry: func(n int, err error) {
			b.cfg.Logger.Warn("cqrs: handler failed, will redeliver", "topic", m.Topic, "group", g.name,
				"key", m.Key, "id", m.ID, "deliveries", n, "err", err)
		},
	}
}

// trim drops the messages of partition p that every group acknowledged.
// b.mu is held.
func (b *MemoryBus) trim(t *memTopic, p int) {
	part := &t.parts[p]
	low := part.end()
	for _, g := range t.groups {
		low = min(low, g.next[p])
	}
	if n := low - part.base; n > 0 {
		clear(part.msgs[:n]) // let the payloads go
		part.msgs = part.msgs[n:]
		part.base = low
		t.retained -= n
	}
}

// Close closes every subscription and stops the bus. See EventBus.
func (b *MemoryBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wg.Wait()
		return nil
	}
	b.closed = true
	subs := make([]*memSubscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Close()
	}
	b.wg.Wait()
	return nil
}

type memSubscription struct {
	bus     *MemoryBus
	group   *memGroup
	handler Handler
	ctx     context.Context
	cancel  context.CancelFunc
	stop    func() bool // unregisters the AfterFunc on ctx

	inflight sync.WaitGroup
	once     sync.Once
}

// Close leaves the group; the messages this member did not acknowledge go
// to the other members. See Subscription.
func (s *memSubscription) Close() error {
	s.once.Do(func() {
		s.stop()
		b := s.bus
		b.mu.Lock()
		g := s.group
		for i, m := range g.members {
			if m == s {
				g.members = append(g.members[:i:i], g.members[i+1:]...)
				break
			}
		}
		delete(b.subs, s)
		// Cancelled under b.mu, where dispatchers pick members.
		s.cancel()
		b.cond.Broadcast()
		b.mu.Unlock()
		s.inflight.Wait()
	})
	return nil
}
