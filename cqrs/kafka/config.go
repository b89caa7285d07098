package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Config configures a Bus. The zero value of each optional field means its
// documented default.
type Config struct {
	// Brokers are the seed brokers, "host:port". Required.
	Brokers []string
	// ClientID names the bus's clients to the brokers (logs, quotas).
	// Default "cassandraorm-cqrs".
	ClientID string

	// Partitions is the partition count of the topics the bus creates on
	// first use: the most members of one group that can work at once.
	// Default 6.
	Partitions int32
	// ReplicationFactor of the topics the bus creates. Default -1: the
	// broker's default.replication.factor.
	ReplicationFactor int16
	// NoTopicCreation stops the bus from creating missing topics; then
	// topics must exist (see Bus.EnsureTopic) or the broker must create
	// them (auto.create.topics.enable).
	NoTopicCreation bool

	// Backoff spaces the redeliveries of a message whose handler failed.
	// Default 100 ms doubling up to 5 s.
	Backoff retry.Backoff
	// MaxDeliveries is the most times in a row a member's handler is
	// called for one record; when the calls fail that often, the record is
	// poison: it is produced to the poison topic and, once that topic has
	// it, acknowledged, and the partition goes on. The count starts again
	// when the record moves to another member. -1 redelivers until the
	// handler succeeds, however long (RebalanceTimeout then bounds how
	// long the member keeps its partitions). Default 10, which with the
	// default Backoff gives up after 10 to 20 s.
	MaxDeliveries int
	// PoisonTopic names the topic where group's poison records of topic
	// go, created like any other; cqrs.Poisoned says what the poison
	// record carries (the cqrs-poison-* headers). It must not return ""
	// or topic itself. Default cqrs.DefaultPoisonTopic: topic + ".poison".
	PoisonTopic func(topic, group string) string

	// FetchMaxWait is how long the broker may hold a fetch waiting for new
	// messages: an upper bound on delivery latency when traffic is low.
	// Default 500 ms.
	FetchMaxWait time.Duration
	// SessionTimeout is how long a member may go without a heartbeat
	// before the group gives its partitions to others (after a crash).
	// Default 45 s; the broker bounds it with
	// group.min.session.timeout.ms (6 s by default).
	SessionTimeout time.Duration
	// HeartbeatInterval is how often members heartbeat, and so how soon
	// they notice that a member joined or left. Default 3 s; at most a
	// third of SessionTimeout.
	HeartbeatInterval time.Duration
	// RebalanceTimeout bounds how long the group waits for its members to
	// finish the messages in hand when partitions move. A handler that
	// keeps failing past it gets its member removed from the group.
	// Default 60 s.
	RebalanceTimeout time.Duration

	// Logger receives handler failures, fetch and commit errors. Default
	// slog.Default().
	Logger *slog.Logger

	// ClientOptions are added, last, to the options of every client the
	// bus creates: TLS, SASL, a kgo logger, ...
	ClientOptions []kgo.Opt
}

// setDefaults replaces the zero fields of c with their defaults.
func (c *Config) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = "cassandraorm-cqrs"
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.Backoff == (retry.Backoff{}) {
		c.Backoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 10
	}
	if c.PoisonTopic == nil {
		c.PoisonTopic = cqrs.DefaultPoisonTopic
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = 500 * time.Millisecond
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 45 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 3 * time.Second
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports what is wrong with c after defaults are applied.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no Brokers"))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("field Partitions %d: want at least 1", c.Partitions))
	}
	if c.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("ReplicationFactor %d: want -1 or at least 1", c.ReplicationFactor))
	}
	if c.MaxDeliveries < -1 {
		errs = append(errs, fmt.Errorf("MaxDeliveries %d: want -1 or at least 1", c.MaxDeliveries))
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("field Backoff: %w", err))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"FetchMaxWait", c.FetchMaxWait}, {"SessionTimeout", c.SessionTimeout}, {"HeartbeatInterval", c.HeartbeatInterval}, {"RebalanceTimeout", c.RebalanceTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: want positive", d.name, d.v))
		}
	}
	if c.HeartbeatInterval > c.SessionTimeout/3 {
		errs = append(errs, fmt.Errorf("HeartbeatInterval %v: want at most a third of SessionTimeout %v", c.HeartbeatInterval, c.SessionTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka: invalid Config: %w", err)
	}
	return nil
}
