package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/internal/deliver"
)

// commitTimeout bounds the offset commit a subscription makes after each
// batch, including the last one, made while it closes.
const commitTimeout = 10 * time.Second

// Bus is a cqrs.EventBus on Kafka. Its methods are safe for concurrent
// use.
//
// Publish produces with acks from all in-sync replicas through an
// idempotent producer, so a retried produce does not duplicate or reorder
// records. Each Subscribe opens a consumer-group member of its own.
type Bus struct {
	cfg      Config
	producer *kgo.Client
	admin    *kadm.Client

	mu     sync.Mutex
	closed bool
	topics map[string]bool // created, or known to exist
	subs   map[*subscription]struct{}
	calls  sync.WaitGroup // Publish and Subscribe in progress
}

var _ cqrs.EventBus = (*Bus)(nil)

// New returns a bus on the brokers of cfg. It does not connect until the
// first Publish or Subscribe. Close it to release its connections.
func New(cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with idempotent writes, the kgo default
	}, cfg.ClientOptions...)
	producer, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &Bus{
		cfg:      cfg,
		producer: producer,
		admin:    kadm.NewClient(producer),
		topics:   make(map[string]bool),
		subs:     make(map[*subscription]struct{}),
	}, nil
}

// EnsureTopic creates topic with the given number of partitions and the
// configured replication factor, unless it exists; an existing topic is
// left as it is, whatever its partition count.
func (b *Bus) EnsureTopic(ctx context.Context, topic string, partitions int32) error {
	_, err := b.admin.CreateTopic(ctx, partitions, b.cfg.ReplicationFactor, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafka: create topic %s: %w", topic, err)
	}
	b.mu.Lock()
	b.topics[topic] = true
	b.mu.Unlock()
	return nil
}

// ensure creates topic on its first use by this bus, unless
// NoTopicCreation is set.
func (b *Bus) ensure(ctx context.Context, topic string) error {
	b.mu.Lock()
	known := b.topics[topic]
	b.mu.Unlock()
	if known || b.cfg.NoTopicCreation {
		return nil
	}
	return b.EnsureTopic(ctx, topic, b.cfg.Partitions)
}

// start registers a call that Close waits for; it fails once the bus is
// closed.
func (b *Bus) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return cqrs.ErrClosed
	}
	b.calls.Add(1)
	return nil
}

// Publish produces msgs to topic, in order, and returns once all in-sync
// replicas have them. The record key is Message.Key, so one key stays in
// one partition; see cqrs.Publisher for the rest of the contract.
func (b *Bus) Publish(ctx context.Context, topic string, msgs ...cqrs.Message) error {
	if topic == "" {
		return errors.New("kafka: publish: empty topic")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka: publish to %s: %w", topic, err)
	}
	if err := b.start(); err != nil {
		return fmt.Errorf("kafka: publish to %s: %w", topic, err)
	}
	defer b.calls.Done()
	stamped, err := cqrs.Prepare(ctx, topic, msgs)
	if err != nil {
		return fmt.Errorf("kafka: publish to %s: %w", topic, err)
	}
	recs := make([]*kgo.Record, len(stamped))
	for i, m := range stamped {
		r, err := encode(m)
		if err != nil {
			return fmt.Errorf("kafka: publish to %s: %w", topic, err)
		}
		recs[i] = r
	}
	if err := b.ensure(ctx, topic); err != nil {
		return fmt.Errorf("kafka: publish: %w", err) // names the topic
	}
	if err := b.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("kafka: publish to %s: %w", topic, err)
	}
	return nil
}

// Subscribe joins group on topic with a consumer client of its own. A new
// group starts at the oldest record the topic retains. Offsets are
// committed only for messages the handler acknowledged, after each fetched
// batch and on Close; see cqrs.Subscriber for the contract.
func (b *Bus) Subscribe(ctx context.Context, topic, group string, h cqrs.Handler) (cqrs.Subscription, error) {
	switch {
	case topic == "":
		return nil, errors.New("kafka: subscribe: empty topic")
	case group == "":
		return nil, errors.New("kafka: subscribe: empty group")
	case h == nil:
		return nil, errors.New("kafka: subscribe: nil handler")
	}
	poison := b.cfg.PoisonTopic(topic, group)
	if poison == "" || poison == topic {
		return nil, fmt.Errorf("kafka: subscribe to %s in group %s: PoisonTopic returned %q; want another topic", topic, group, poison)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s in group %s: %w", topic, group, err)
	}
	if err := b.start(); err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s in group %s: %w", topic, group, err)
	}
	defer b.calls.Done()
	if err := b.ensure(ctx, topic); err != nil {
		return nil, fmt.Errorf("kafka: subscribe in group %s: %w", group, err)
	}
	c := b.cfg
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// Partitions do not move while a batch is in hand: its acked
		// offsets are committed first, so no other member redelivers
		// what this one acknowledged, or handles a key concurrently.
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(c.FetchMaxWait),
		kgo.SessionTimeout(c.SessionTimeout),
		kgo.HeartbeatInterval(c.HeartbeatInterval),
		kgo.RebalanceTimeout(c.RebalanceTimeout),
	}, c.ClientOptions...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s in group %s: %w", topic, group, err)
	}
	s := &subscription{bus: b, cl: cl, handler: h, topic: topic, group: group, poison: poison, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(ctx)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	go s.run()
	return s, nil
}

// Close closes every subscription, waits for the publishes in flight and
// closes the producer. See cqrs.EventBus.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.calls.Wait() // after it, no Subscribe can add to b.subs
	b.mu.Lock()
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	b.producer.Close()
	return errors.Join(errs...)
}

type subscription struct {
	bus          *Bus
	cl           *kgo.Client
	handler      cqrs.Handler
	topic, group string
	poison       string // the topic of the group's poison records
	ctx          context.Context
	cancel       context.CancelFunc
	stop         func() bool   // unregisters the AfterFunc on the Subscribe context
	done         chan struct{} // closed when run returns

	once sync.Once
	err  error // of the last commit, if it failed while closing; set by run
}

// run polls batches and hands each partition's records, in order, to the
// handler, one goroutine per partition; then commits what was acked.
func (s *subscription) run() {
	defer close(s.done)
	log := s.bus.cfg.Logger.With("topic", s.topic, "group", s.group)
	for {
		fetches := s.cl.PollFetches(s.ctx)
		if s.ctx.Err() != nil || fetches.IsClientClosed() {
			s.cl.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			log.Warn("kafka: fetch", "partition", p, "err", err)
		})
		var (
			mu    sync.Mutex
			acked []*kgo.Record
			wg    sync.WaitGroup
		)
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			wg.Go(func() {
				if last := s.handle(p.Records, log); last != nil {
					mu.Lock()
					acked = append(acked, last)
					mu.Unlock()
				}
			})
		})
		wg.Wait()
		if len(acked) > 0 {
			// Not s.ctx: the acks of a closing member must be committed.
			ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
			if err := s.cl.CommitRecords(ctx, acked...); err != nil {
				log.Warn("kafka: commit failed, acknowledged messages may be redelivered", "err", err)
				if s.ctx.Err() != nil {
					s.err = fmt.Errorf("kafka: commit on close of %s in group %s: %w", s.topic, s.group, err)
				}
			}
			cancel()
		}
		s.cl.AllowRebalance()
	}
}

// handle delivers recs, all of one partition, in order, each until it is
// acknowledged or, poison, produced to the poison topic; it stops at the
// first one for which neither happened when the subscription closes. It
// returns the last record done with, or nil.
func (s *subscription) handle(recs []*kgo.Record, log *slog.Logger) (last *kgo.Record) {
	cfg := s.bus.cfg
	for _, r := range recs {
		m := decode(r)
		log := log.With("partition", r.Partition, "offset", r.Offset, "key", m.Key, "id", m.ID)
		p := deliver.Policy{
			Backoff:       cfg.Backoff,
			MaxDeliveries: cfg.MaxDeliveries,
			Permanent:     func(err error) bool { return errors.Is(err, cqrs.ErrPoison) },
			OnRetry: func(n int, err error) {
				log.Warn("kafka: handler failed, will redeliver", "deliveries", n, "err", err)
			},
		}
		res, n, err := deliver.Until(s.ctx, p, func(ctx context.Context) error { return cqrs.Deliver(ctx, s.handler, m) })
		if res == deliver.Poisoned {
			log.Error("kafka: message poisoned, moving it to the poison topic", "poison_topic", s.poison, "deliveries", n, "err", err)
			res = s.movePoison(cqrs.Poisoned(m, s.group, n, err), log)
		}
		if res != deliver.Acked {
			return last
		}
		last = r
	}
	return last
}

// movePoison produces m to the poison topic, trying again with backoff
// until it succeeds (Acked) or the subscription closes (Stopped): the
// record is acknowledged only once the poison topic has it durably.
func (s *subscription) movePoison(m cqrs.Message, log *slog.Logger) deliver.Result {
	// Not encode: a record from another producer may carry headers with
	// the reserved prefix, and must reach the poison topic all the same.
	rec := record(cqrs.Stamp(s.poison, m))
	p := deliver.Policy{
		Backoff:       s.bus.cfg.Backoff,
		MaxDeliveries: -1,
		Permanent:     func(error) bool { return false },
		OnRetry: func(n int, err error) {
			log.Warn("kafka: produce to the poison topic failed, will retry", "poison_topic", s.poison, "attempts", n, "err", err)
		},
	}
	res, _, _ := deliver.Until(s.ctx, p, func(ctx context.Context) error {
		if err := s.bus.ensure(ctx, s.poison); err != nil {
			return err
		}
		return s.bus.producer.ProduceSync(ctx, rec).FirstErr()
	})
	return res
}

// Close stops polling, waits for the handlers in flight, commits what they
// acknowledged and leaves the group. It returns the error of that last
// commit: the messages it concerned will be delivered again. See
// cqrs.Subscription.
func (s *subscription) Close() error {
	s.once.Do(func() {
		s.stop()
		s.cancel()
		<-s.done
		s.cl.Close()
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
	})
	return s.err
}
