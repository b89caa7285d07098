package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a Redis tier.
type RedisConfig struct {
	// Name names the tier in metrics and errors. Default "redis".
	Name string
	// Client is the Redis client to use. When nil, NewRedis connects to Addr
	// and the tier's Close closes that client.
	Client redis.UniversalClient
	// Addr is the server's host:port when Client is nil. Default
	// 127.0.0.1:6379.
	Addr string
	// Prefix starts every Redis key of the tier: a key's value is under
	// Prefix+"v:{"+key+"}" and its floor under Prefix+"f:{"+key+"}". It must
	// not contain '{'. Default "cache:".
	Prefix string
	// Observer is told of hits, misses and stale drops. Default none.
	Observer Observer
}

func (c *RedisConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "redis"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if c.Prefix == "" {
		c.Prefix = "cache:"
	}
	c.Observer = orNop(c.Observer)
}

// Validate reports the first field a Redis tier cannot work with; zero fields
// count as their defaults.
func (c RedisConfig) Validate() error {
	c.setDefaults()
	if strings.Contains(c.Prefix, "{") {
		return fmt.Errorf("cache: RedisConfig %s: Prefix %q contains '{', which would move the keys' hash tag", c.Name, c.Prefix)
	}
	if c.Client == nil {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return fmt.Errorf("cache: RedisConfig %s: Addr %q: %w", c.Name, c.Addr, err)
		}
	}
	return nil
}

// Redis is a Store in Redis, shared by every process on the server. An entry
// is one string (a 42-byte header of version and expiry, then the value) with
// a PX expiry, so a Get is one GET; Set and Invalidate are Lua scripts, atomic
// on the server. It is safe for concurrent use.
type Redis struct {
	cfg  RedisConfig
	rdb  redis.UniversalClient
	owns bool // rdb was made by NewRedis
}

// NewRedis returns a Redis tier, or the error of cfg.Validate. It does not
// connect until used.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &Redis{cfg: cfg, rdb: cfg.Client}
	if r.rdb == nil {
		r.rdb, r.owns = redis.NewClient(&redis.Options{Addr: cfg.Addr}), true
	}
	return r, nil
}

// Name is the configured name.
func (r *Redis) Name() string { return r.cfg.Name }

// Client returns the tier's Redis client.
func (r *Redis) Client() redis.UniversalClient { return r.rdb }

// Close closes the client if NewRedis made it, and does nothing otherwise.
func (r *Redis) Close() error {
	if r.owns {
		return r.rdb.Close()
	}
	return nil
}

// valueKey and floorKey wrap key in a hash tag, so that a key's value and
// floor, which one script reads, are in one slot of a Redis Cluster.
func (r *Redis) valueKey(key string) string { return r.cfg.Prefix + "v:{" + key + "}" }
func (r *Redis) floorKey(key string) string { return r.cfg.Prefix + "f:{" + key + "}" }

// The header of a stored value: a format byte, a flags byte ('v' for a value,
// 'n' for a negative entry), the version and the expiry (Unix milliseconds)
// each as 20 decimal digits of the number with its sign bit flipped, so that
// the scripts compare versions exactly as strings.
const (
	headerLen  = 42
	formatByte = '1'
)

// ordered writes v as 20 digits whose string order is v's numeric order.
func ordered(v int64) string {
	s := strconv.FormatUint(uint64(v)^(1<<63), 10)
	return "00000000000000000000"[len(s):] + s
}

// unordered parses ordered's digits.
func unordered(s string) (int64, error) {
	u, err := strconv.ParseUint(s, 10, 64)
	return int64(u ^ (1 << 63)), err
}

// encode returns the stored form of e, expiring at exp.
func encode(e Entry, exp time.Time) []byte {
	b := make([]byte, 0, headerLen+len(e.Value))
	flag := byte('v')
	if e.Negative {
		flag = 'n'
	}
	b = append(b, formatByte, flag)
	b = append(b, ordered(e.Version)...)
	b = append(b, ordered(exp.UnixMilli())...)
	return append(b, e.Value...)
}

// decode parses encode's bytes.
func decode(b []byte) (Entry, error) {
	if len(b) < headerLen || b[0] != formatByte || (b[1] != 'v' && b[1] != 'n') {
		return Entry{}, errors.New("not an entry of this package's format")
	}
	v, err := unordered(string(b[2:22]))
	if err != nil {
		return Entry{}, err
	}
	exp, err := unordered(string(b[22:42]))
	if err != nil {
		return Entry{}, err
	}
	return Entry{Value: b[headerLen:], Version: v, Negative: b[1] == 'n', Expires: time.UnixMilli(exp)}, nil
}

// Get returns key's entry: one GET.
func (r *Redis) Get(ctx context.Context, key string) (Entry, bool, error) {
	b, err := r.rdb.Get(ctx, r.valueKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		r.cfg.Observer.Miss(r.cfg.Name)
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("cache: %s: get key %s: %w", r.cfg.Name, quote(key), err)
	}
	e, err := decode(b)
	if err != nil {
		return Entry{}, false, fmt.Errorf("cache: %s: key %s: %w", r.cfg.Name, quote(key), err)
	}
	r.cfg.Observer.Hit(r.cfg.Name)
	return e, true, nil
}

// setScript stores ARGV[1] under KEYS[1] for ARGV[3] ms unless the floor
// KEYS[2] or the stored value's version is above ARGV[2].
var setScript = redis.NewScript(`
local f = redis.call('GET', KEYS[2])
if f and f > ARGV[2] then return 0 end
local cur = redis.call('GETRANGE', KEYS[1], 2, 21)
if string.len(cur) == 20 and cur > ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
`)

// invalidateScript deletes KEYS[1] and raises the floor KEYS[2] to ARGV[1]
// for at least ARGV[2] ms.
var invalidateScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
local f = redis.call('GET', KEYS[2])
local v = ARGV[1]
if f and f > v then v = f end
local px = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[2])
if left > px then px = left end
redis.call('SET', KEYS[2], v, 'PX', px)
return 1
`)

// ms returns d in whole milliseconds, at least 1.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Set stores e under key for ttl (in milliseconds, at least 1), unless the
// key's floor or stored entry is newer.
func (r *Redis) Set(ctx context.Context, key string, e Entry, ttl time.Duration) (bool, error) {
	if err := checkTTL(r.cfg.Name, key, ttl); err != nil {
		return false, err
	}
	b := encode(e, time.Now().Add(ttl))
	n, err := setScript.Run(ctx, r.rdb, []string{r.valueKey(key), r.floorKey(key)}, b, ordered(e.Version), ms(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("cache: %s: set key %s: %w", r.cfg.Name, quote(key), err)
	}
	if n != 1 {
		r.cfg.Observer.StaleDrop(r.cfg.Name)
		return false, nil
	}
	return true, nil
}

// Delete removes the keys' entries with one DEL.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	rk := make([]string, len(keys))
	for i, k := range keys {
		rk[i] = r.valueKey(k)
	}
	if err := r.rdb.Del(ctx, rk...).Err(); err != nil {
		return fmt.Errorf("cache: %s: delete %d keys (first %s): %w", r.cfg.Name, len(keys), quote(keys[0]), err)
	}
	return nil
}

// Invalidate removes key's entry and raises its floor to version, in one
// script.
func (r *Redis) Invalidate(ctx context.Context, key string, version int64, floorTTL time.Duration) error {
	if floorTTL <= 0 {
		return errors.New("cache: " + r.cfg.Name + ": key " + quote(key) + ": floor ttl " + floorTTL.String() + " is not positive")
	}
	err := invalidateScript.Run(ctx, r.rdb, []string{r.valueKey(key), r.floorKey(key)}, ordered(version), ms(floorTTL)).Err()
	if err != nil {
		return fmt.Errorf("cache: %s: invalidate key %s: %w", r.cfg.Name, quote(key), err)
	}
	return nil
}
