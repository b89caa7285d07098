package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

// Config configures a Gateway. A zero field takes the default documented on it;
// Validate says which values are refused.
type Config struct {
	// Registry is the service registry the subgraphs announce themselves in.
	// Required.
	Registry *registry.Registry
	// Services are the names of the subgraph services to follow, each a registry
	// service name, at least one, no repeats. Each service's instances are
	// watched; the gateway sends its requests to one healthy instance (the one in
	// use while it stays healthy, else the first by id). An instance's metadata
	// "graphql" is the path of its GraphQL endpoint (default "/graphql"), "sdl" the
	// path that answers a GET with its SDL (default: none, the SDL is then asked
	// with the federation query { _service { sdl } }).
	Services []string
	// Hub is the registry service name of the real-time hub that /ws is proxied
	// to (the notification service; default "notifications"). Its instance's
	// metadata "ws" is the path (default "/ws").
	Hub string
	// Timeout bounds each request to a subgraph, SDL fetches included (default
	// 5s): a slower or down subgraph gives partial data and an error naming it.
	Timeout time.Duration
	// Poll is how often the Node process reads the subgraph list and recomposes
	// when it changed (default 1s). The registry's own Config.Poll is how often
	// the list follows the registry.
	Poll time.Duration
	// Forget is how long a subgraph with no healthy instance stays in the
	// supergraph with its last SDL (default 5m): its fields then answer null with
	// an error naming it, and the schema clients see does not shrink at every
	// restart. Past Forget it is dropped and the supergraph recomposed without it.
	Forget time.Duration
	// Addr is the address Run listens on (default ":4000").
	Addr string
	// Node is the node binary (default "node", looked up in PATH). Node.js 20 or
	// later.
	Node string
	// Env is the development environment whose cache receives the npm packages
	// the gateway's package-lock.json pins (default devenv.Load(io.Discard) at
	// Run, which needs the working directory inside the checkout).
	Env *devenv.Env
	// Tenants says whether a tenant may be served (default: every valid tenant id;
	// each subgraph then checks the tenant against its own tenant registry).
	Tenants tenanthttp.Resolver
	// Restart spaces the restarts of a Node process that died (default 200ms
	// doubling up to 5s, reset after a minute of running).
	Restart retry.Backoff
	// StartTimeout bounds the wait for a started Node process to serve a
	// supergraph before it is killed and started again (default 2m): the first
	// composition waits for at least one subgraph.
	StartTimeout time.Duration
	// Log receives the gateway's events and the Node process's output (default
	// slog.Default()).
	Log *slog.Logger
	// Metrics is the Prometheus registry /metrics serves (default
	// platform.NewMetrics()); the gateway registers its own metrics on it.
	Metrics *prometheus.Registry
}

// Defaults of Config.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultPoll         = time.Second
	DefaultForget       = 5 * time.Minute
	DefaultAddr         = ":4000"
	DefaultHub          = "notifications"
	DefaultStartTimeout = 2 * time.Minute
)

// anyTenant is the default Config.Tenants: a valid id is enough.
var anyTenant = tenanthttp.ResolverFunc(func(context.Context, string) error { return nil })

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Hub == "" {
		c.Hub = DefaultHub
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Forget == 0 {
		c.Forget = DefaultForget
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Node == "" {
		c.Node = "node"
	}
	if c.Tenants == nil {
		c.Tenants = anyTenant
	}
	if c.Restart == (retry.Backoff{}) {
		c.Restart = retry.Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second}
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = platform.NewMetrics()
	}
}

// Validate reports the first field a Gateway cannot work with. Zero fields count
// as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Registry == nil:
		return errors.New("gateway: Config.Registry is nil")
	case len(c.Services) == 0:
		return errors.New("gateway: Config.Services is empty: name the subgraph services to follow")
	case c.Timeout <= 0:
		return fmt.Errorf("gateway: Config.Timeout %v: want a positive duration", c.Timeout)
	case c.Poll <= 0:
		return fmt.Errorf("gateway: Config.Poll %v: want a positive duration", c.Poll)
	case c.Forget <= 0:
		return fmt.Errorf("gateway: Config.Forget %v: want a positive duration", c.Forget)
	case c.StartTimeout <= 0:
		return fmt.Errorf("gateway: Config.StartTimeout %v: want a positive duration", c.StartTimeout)
	}
	for i, name := range c.Services {
		if err := checkService(name); err != nil {
			return fmt.Errorf("gateway: Config.Services[%d]: %w", i, err)
		}
		if slices.Contains(c.Services[:i], name) {
			return fmt.Errorf("gateway: Config.Services[%d]: service %q named twice", i, name)
		}
	}
	if err := checkService(c.Hub); err != nil {
		return fmt.Errorf("gateway: Config.Hub: %w", err)
	}
	if err := c.Restart.Validate(); err != nil {
		return fmt.Errorf("gateway: Config.Restart: %w", err)
	}
	return nil
}

// checkService checks a registry service name the way the registry does, so
// that a typo fails at Validate and not at the first Watch.
func checkService(name string) error {
	if name == "" || len(name) > 100 {
		return fmt.Errorf("service name %.20q: want 1 to 100 bytes", name)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("service name %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// tenantConfig is the tenant middleware's configuration: the tenant comes from
// the host under platform.BaseDomain or from X-Tenant-ID, as at the services.
func (c *Config) tenantConfig() tenanthttp.Config {
	return tenanthttp.Config{Resolver: c.Tenants, BaseDomain: platform.BaseDomain, OnError: writeTenantError}
}
