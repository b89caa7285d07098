package registry

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Config configures a Registry. A zero field takes the default documented on it;
// Validate says which values are refused.
type Config struct {
	// Table is the instance table's name (default "service_instances"), a Cassandra
	// identifier.
	Table string
	// TTL is how long an instance stays listed after its last heartbeat (default
	// 15s, at least 1s, whole seconds: a TTL that is not is rounded up, as orm.WithTTL
	// does). Every heartbeat writes the instance's row with this TTL, so a process
	// that dies without deregistering drops out of Discover at most TTL after its
	// last heartbeat reached Cassandra.
	TTL time.Duration
	// Heartbeat is the interval between heartbeats (default TTL/3), below TTL. Each
	// heartbeat runs the instance's health check, then writes the row; the check and
	// the write, retries included, are bounded by the interval.
	Heartbeat time.Duration
	// Poll is how often a Watch reads the service's instances (default 1s).
	Poll time.Duration
	// Health configures the health checks.
	Health HealthConfig
	// Retry is the policy of a heartbeat's write. Its If defaults to the errors that
	// may pass with another attempt (orm.ErrUncertain, orm.ErrUnavailable,
	// orm.ErrTimeout: the write is an idempotent upsert), its other fields to
	// retry.Policy's defaults. All attempts of one heartbeat share the heartbeat
	// interval.
	Retry retry.Policy
	// MaxMetadataBytes bounds an instance's metadata: the sum of the lengths of its
	// keys and values (default 8 KiB, at most 1 MiB). The registry is read on every
	// Discover and Watch poll: it is for routing facts, not documents.
	MaxMetadataBytes int
}

// HealthConfig configures the health check of an instance that names a
// Instance.HealthURL.
type HealthConfig struct {
	// Timeout bounds one check (default the smaller of 2s and Heartbeat/2), below
	// Heartbeat.
	Timeout time.Duration
	// Client sends the checks (default a new http.Client). Its own Timeout, if any,
	// applies as well.
	Client *http.Client
}

// Defaults and bounds of Config.
const (
	DefaultTTL              = 15 * time.Second
	DefaultPoll             = time.Second
	DefaultMaxMetadataBytes = 8 << 10
	maxMetadataLimit        = 1 << 20
)

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Table == "" {
		c.Table = "service_instances"
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.TTL > 0 {
		c.TTL = (c.TTL + time.Second - 1).Truncate(time.Second)
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = c.TTL / 3
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Health.Timeout == 0 {
		c.Health.Timeout = min(2*time.Second, c.Heartbeat/2)
	}
	if c.Health.Client == nil {
		c.Health.Client = &http.Client{}
	}
	if c.Retry.If == nil {
		c.Retry.If = retry.On(orm.ErrUncertain, orm.ErrUnavailable, orm.ErrTimeout)
	}
	if c.MaxMetadataBytes == 0 {
		c.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
}

// Validate reports the first field whose value a Registry cannot work with. Zero
// fields count as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	if err := orm.CheckIdent("table", c.Table); err != nil {
		return fmt.Errorf("registry: Config.Table: %w", err)
	}
	switch {
	case c.TTL < time.Second || c.TTL > orm.MaxTTL:
		return fmt.Errorf("registry: Config.TTL %v: want 1s up to %v (Cassandra TTLs are whole seconds)", c.TTL, orm.MaxTTL)
	case c.Heartbeat <= 0 || c.Heartbeat >= c.TTL:
		return fmt.Errorf("registry: Config.Heartbeat %v: want a positive interval below Config.TTL (%v)", c.Heartbeat, c.TTL)
	case c.Poll <= 0:
		return fmt.Errorf("registry: Config.Poll %v: want a positive interval", c.Poll)
	case c.Health.Timeout <= 0 || c.Health.Timeout >= c.Heartbeat:
		return fmt.Errorf("registry: Config.Health.Timeout %v: want a positive duration below Config.Heartbeat (%v)", c.Health.Timeout, c.Heartbeat)
	case c.MaxMetadataBytes < 0 || c.MaxMetadataBytes > maxMetadataLimit:
		return fmt.Errorf("registry: Config.MaxMetadataBytes %d: want 1 up to %d", c.MaxMetadataBytes, maxMetadataLimit)
	}
	if err := c.Retry.Validate(); err != nil {
		return fmt.Errorf("registry: Config.Retry: %w", err)
	}
	return nil
}
