package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store types of StoreConfig.Type.
const (
	TypeMemory = "memory"
	TypeRedis  = "redis"
)

// StoreConfig configures one tier of a Config: the fields of its Type apply.
type StoreConfig struct {
	// Name names the tier in metrics and errors. Default its Type.
	Name string
	// Type is TypeMemory or TypeRedis. Required.
	Type string

	// MaxSize, MaxBytes and MaxTTL of a memory tier (MemoryConfig).
	MaxSize  int
	MaxBytes uint64
	MaxTTL   time.Duration

	// Client, Addr and Prefix of a redis tier (RedisConfig).
	Client redis.UniversalClient
	Addr   string
	Prefix string
}

// Config configures a tiered stack for New, as the seed does:
//
//	cache.Config{Stores: []cache.StoreConfig{
//		{Name: "memory", Type: "memory", MaxSize: 1000},
//		{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379"},
//	}}
type Config struct {
	// Stores are the tiers, the fastest first. Default one memory tier of
	// MemoryConfig's defaults.
	Stores []StoreConfig
	// Observer is told what every tier does. Default none.
	Observer Observer
}

func (c *Config) setDefaults() {
	if len(c.Stores) == 0 {
		c.Stores = []StoreConfig{{Type: TypeMemory}}
	}
	c.Stores = append([]StoreConfig(nil), c.Stores...)
	for i := range c.Stores {
		if c.Stores[i].Name == "" {
			c.Stores[i].Name = c.Stores[i].Type
		}
	}
}

// Validate reports the first store New cannot build: an unknown type, a
// repeated name or an invalid field.
func (c Config) Validate() error {
	c.setDefaults()
	seen := map[string]bool{}
	for i, s := range c.Stores {
		if seen[s.Name] {
			return fmt.Errorf("cache: Config.Stores[%d]: name %q is used twice", i, s.Name)
		}
		seen[s.Name] = true
		var err error
		switch s.Type {
		case TypeMemory:
			err = s.memory(nil).Validate()
		case TypeRedis:
			err = s.redis(nil).Validate()
		default:
			err = fmt.Errorf("type %q: want %q or %q", s.Type, TypeMemory, TypeRedis)
		}
		if err != nil {
			return fmt.Errorf("cache: Config.Stores[%d] (%s): %w", i, s.Name, err)
		}
	}
	return nil
}

func (s StoreConfig) memory(obs Observer) MemoryConfig {
	return MemoryConfig{Name: s.Name, MaxSize: s.MaxSize, MaxBytes: s.MaxBytes, MaxTTL: s.MaxTTL, Observer: obs}
}

func (s StoreConfig) redis(obs Observer) RedisConfig {
	return RedisConfig{Name: s.Name, Client: s.Client, Addr: s.Addr, Prefix: s.Prefix, Observer: obs}
}

// New builds the tiered stack of cfg, or returns the error of cfg.Validate.
// Close the stack to close the Redis clients it made (for stores given an
// Addr rather than a Client).
func New(cfg Config) (*Tiered, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	var tiers []Store
	var closers []func() error
	fail := func(err error) (*Tiered, error) {
		for _, c := range closers {
			err = errors.Join(err, c())
		}
		return nil, err
	}
	for _, s := range cfg.Stores {
		switch s.Type {
		case TypeMemory:
			m, err := NewMemory(s.memory(cfg.Observer))
			if err != nil {
				return fail(err)
			}
			tiers = append(tiers, m)
		case TypeRedis:
			r, err := NewRedis(s.redis(cfg.Observer))
			if err != nil {
				return fail(err)
			}
			tiers = append(tiers, r)
			closers = append(closers, r.Close)
		}
	}
	t, err := NewTiered(tiers...)
	if err != nil {
		return fail(err)
	}
	t.closer = closers
	return t, nil
}
