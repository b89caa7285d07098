package realtime_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/realtime"
)

func TestConfigValidate(t *testing.T) {
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: env.Redis(t)})
	if err != nil {
		t.Fatal(err)
	}
	ok := realtime.Config{Bus: bus, HMACKey: key}
	for _, tc := range []struct {
		name string
		mod  func(*realtime.Config)
		want string // in the error; "" for none
	}{
		{"defaults", func(*realtime.Config) {}, ""},
		{"no bus", func(c *realtime.Config) { c.Bus = nil }, "no Bus"},
		{"no key", func(c *realtime.Config) { c.HMACKey = nil }, "no HMACKey and no PublicKey"},
		{"short key", func(c *realtime.Config) { c.HMACKey = []byte("short") }, "HMACKey of 5 bytes"},
		{"bad public key", func(c *realtime.Config) { c.PublicKey = "pem" }, "PublicKey of type string"},
		{"short ed25519 key", func(c *realtime.Config) { c.PublicKey = ed25519.PublicKey{1, 2} }, "ed25519 key of 2 bytes"},
		{"bad origin", func(c *realtime.Config) { c.AllowedOrigins = []string{"[a-"} }, `pattern "[a-"`},
		{"negative queue", func(c *realtime.Config) { c.QueueSize = -1 }, "QueueSize -1"},
		{"negative rate", func(c *realtime.Config) { c.ControlRate = -1 }, "ControlRate -1"},
		{"negative ping", func(c *realtime.Config) { c.PingInterval = -time.Second }, "PingInterval -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error with %q", err, tc.want)
			}
			if _, err := realtime.New(c); (err != nil) != (tc.want != "") {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestRedisConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    realtime.RedisConfig
		want string
	}{
		{"defaults", realtime.RedisConfig{Client: env.Redis(t)}, ""},
		{"no client", realtime.RedisConfig{}, "no Client"},
		{"brace in prefix", realtime.RedisConfig{Client: env.Redis(t), Prefix: "a{b"}, "Prefix"},
		{"negative history", realtime.RedisConfig{Client: env.Redis(t), HistorySize: -1}, "HistorySize -1"},
		{"short ttl", realtime.RedisConfig{Client: env.Redis(t), HistoryTTL: time.Microsecond}, "HistoryTTL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := realtime.NewRedisBus(tc.c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewRedisBus: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewRedisBus: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want realtime.ID
		ok   bool
	}{
		{"0-0", realtime.ID{}, true},
		{"1712345678901-3", realtime.ID{Ms: 1712345678901, Seq: 3}, true},
		{"18446744073709551615-18446744073709551615", realtime.ID{Ms: 1<<64 - 1, Seq: 1<<64 - 1}, true},
		{"18446744073709551616-0", realtime.ID{}, false},
		{"+1-2", realtime.ID{}, false},
		{"1-", realtime.ID{}, false},
		{"1", realtime.ID{}, false},
		{"", realtime.ID{}, false},
		{"1-2-3", realtime.ID{}, false},
		{" 1-2", realtime.ID{}, false},
	} {
		got, err := realtime.ParseID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("ParseID(%q).String() = %q", tc.in, got.String())
		}
	}
	a, b := realtime.ID{Ms: 1, Seq: 9}, realtime.ID{Ms: 2}
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Error("Compare does not order by Ms, then Seq")
	}
}
