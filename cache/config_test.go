package cache_test

import (
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  cache.Config
		ok   bool
	}{
		{"zero: one memory tier", cache.Config{}, true},
		{"the seed's stores", cache.Config{Stores: []cache.StoreConfig{
			{Name: "memory", Type: "memory", MaxSize: 1000},
			{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379"},
		}}, true},
		{"by bytes", cache.Config{Stores: []cache.StoreConfig{{Type: "memory", MaxBytes: 1 << 20, MaxTTL: time.Minute}}}, true},
		{"unknown type", cache.Config{Stores: []cache.StoreConfig{{Type: "memcached"}}}, false},
		{"no type", cache.Config{Stores: []cache.StoreConfig{{Name: "x"}}}, false},
		{"name twice", cache.Config{Stores: []cache.StoreConfig{{Type: "memory"}, {Type: "memory"}}}, false},
		{"negative size", cache.Config{Stores: []cache.StoreConfig{{Type: "memory", MaxSize: -1}}}, false},
		{"size and bytes", cache.Config{Stores: []cache.StoreConfig{{Type: "memory", MaxSize: 1, MaxBytes: 1}}}, false},
		{"negative max ttl", cache.Config{Stores: []cache.StoreConfig{{Type: "memory", MaxTTL: -time.Second}}}, false},
		{"brace in the prefix", cache.Config{Stores: []cache.StoreConfig{{Type: "redis", Prefix: "a{b"}}}, false},
		{"bad address", cache.Config{Stores: []cache.StoreConfig{{Type: "redis", Addr: "no-port"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
			s, err := cache.New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New() error = %v, want ok %v", err, tc.ok)
			}
			if s != nil {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  cache.Options
		ok   bool
	}{
		{"zero", cache.Options{}, true},
		{"all set", cache.Options{TTL: time.Minute, NegativeTTL: time.Second, RefreshAhead: 0.2, FloorTTL: time.Minute, Codec: cache.Raw{}}, true},
		{"negative ttl", cache.Options{TTL: -1}, false},
		{"negative negative ttl", cache.Options{NegativeTTL: -1}, false},
		{"refresh ahead 1", cache.Options{RefreshAhead: 1}, false},
		{"refresh ahead negative", cache.Options{RefreshAhead: -0.1}, false},
		{"floor ttl too short", cache.Options{FloorTTL: time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opt.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// The seed's configuration builds a memory tier in front of Redis.
func TestNewSeedStores(t *testing.T) {
	s, err := cache.New(cache.Config{Stores: []cache.StoreConfig{
		{Name: "memory", Type: "memory", MaxSize: 1000},
		{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379", Prefix: redisPrefix(t)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tiers := s.Tiers()
	if len(tiers) != 2 || tiers[0].Name() != "memory" || tiers[1].Name() != "redis" {
		t.Fatalf("tiers %v, want memory then redis", tiers)
	}
	if _, ok := tiers[0].(*cache.Memory); !ok {
		t.Fatalf("tier 0 is a %T", tiers[0])
	}
	ctx := t.Context()
	if ok, err := s.Set(ctx, "k", cache.Entry{Value: []byte("v"), Version: 1}, time.Minute); err != nil || !ok {
		t.Fatalf("Set = %v, %v", ok, err)
	}
	if e, ok, err := tiers[1].Get(ctx, "k"); err != nil || !ok || string(e.Value) != "v" {
		t.Fatalf("the redis tier's Get = %+v, %v, %v; want v", e, ok, err)
	}
}
