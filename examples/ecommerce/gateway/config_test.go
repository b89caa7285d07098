package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestConfigValidate(t *testing.T) {
	db, err := orm.Detached("gateway_config")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(db, registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ok := gateway.Config{Registry: reg, Services: []string{"users", "products"}}
	for _, c := range []struct {
		name string
		edit func(*gateway.Config)
		want string // "" for valid
	}{
		{"defaults", func(*gateway.Config) {}, ""},
		{"all set", func(c *gateway.Config) {
			c.Timeout, c.Poll, c.Forget, c.StartTimeout, c.Hub = time.Second, time.Second, time.Minute, time.Minute, "hub.v2"
		}, ""},
		{"no registry", func(c *gateway.Config) { c.Registry = nil }, "Config.Registry is nil"},
		{"no services", func(c *gateway.Config) { c.Services = nil }, "Config.Services is empty"},
		{"repeated service", func(c *gateway.Config) { c.Services = []string{"users", "users"} }, `Config.Services[1]: service "users" named twice`},
		{"bad service", func(c *gateway.Config) { c.Services = []string{"users", "-x"} }, "Config.Services[1]"},
		{"bad service char", func(c *gateway.Config) { c.Services = []string{"us ers"} }, "Config.Services[0]"},
		{"bad hub", func(c *gateway.Config) { c.Hub = "a/b" }, "Config.Hub"},
		{"negative timeout", func(c *gateway.Config) { c.Timeout = -time.Second }, "Config.Timeout"},
		{"negative poll", func(c *gateway.Config) { c.Poll = -1 }, "Config.Poll"},
		{"negative forget", func(c *gateway.Config) { c.Forget = -1 }, "Config.Forget"},
		{"negative start timeout", func(c *gateway.Config) { c.StartTimeout = -1 }, "Config.StartTimeout"},
		{"bad restart", func(c *gateway.Config) { c.Restart = retry.Backoff{Initial: time.Second, Max: time.Millisecond} }, "Config.Restart"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			cfg.Services = append([]string(nil), ok.Services...)
			c.edit(&cfg)
			err := cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Validate = %v, want an error containing %q", err, c.want)
			}
			if _, nerr := gateway.New(cfg); (nerr == nil) != (err == nil) {
				t.Fatalf("New = %v, Validate = %v", nerr, err)
			}
		})
	}
}
