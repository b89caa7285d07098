package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

// LockConfig configures a RedisLock.
type LockConfig struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix starts the lock's Redis keys (Prefix+key). Default "cache:lock:".
	Prefix string
	// TTL is the lock's expiry: a holder that disappears (a crashed process)
	// delays the others by at most this long, after which one of them loads.
	// A load that takes longer than TTL may run twice. Default 5 s.
	TTL time.Duration
	// Poll spaces a waiter's looks at the cache and at the lock. Default 5 ms
	// doubling up to 200 ms, with jitter.
	Poll retry.Backoff
}

func (c *LockConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "cache:lock:"
	}
	if c.TTL == 0 {
		c.TTL = 5 * time.Second
	}
	if c.Poll == (retry.Backoff{}) {
		c.Poll = retry.Backoff{Initial: 5 * time.Millisecond, Max: 200 * time.Millisecond}
	}
}

// Validate reports the first field a RedisLock cannot work with; zero fields
// count as their defaults.
func (c LockConfig) Validate() error {
	c.setDefaults()
	switch {
	case c.Client == nil:
		return errors.New("cache: LockConfig.Client is nil")
	case c.TTL < time.Millisecond:
		return fmt.Errorf("cache: LockConfig.TTL %v: want at least 1ms", c.TTL)
	case c.Poll.Initial <= 0:
		return fmt.Errorf("cache: LockConfig.Poll.Initial %v: want a positive wait", c.Poll.Initial)
	}
	if err := c.Poll.Validate(); err != nil {
		return fmt.Errorf("cache: LockConfig.Poll: %w", err)
	}
	return nil
}

// RedisLock makes the processes sharing a Redis server load a missing key
// once between them: the first takes a short lock (SET NX PX with a random
// token), loads and stores; the others poll the cache for the value it
// stores, and take the lock themselves if it is released or expires without
// a value. It is safe for concurrent use.
type RedisLock struct {
	cfg LockConfig
}

// NewRedisLock returns a RedisLock, or the error of cfg.Validate.
func NewRedisLock(cfg LockConfig) (*RedisLock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &RedisLock{cfg: cfg}, nil
}

// releaseScript deletes the lock KEYS[1] if it still holds the token ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// acquire tries to take key's lock, returning its release func on success.
func (l *RedisLock) acquire(ctx context.Context, key string) (func(), bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	lk := l.cfg.Prefix + key
	ok, err := l.cfg.Client.SetNX(ctx, lk, token, l.cfg.TTL).Result()
	if err != nil {
		return nil, false, fmt.Errorf("cache: lock of key %s: %w", quote(key), err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		// A failed release leaves the lock to expire: the others wait at most TTL.
		_ = releaseScript.Run(context.WithoutCancel(ctx), l.cfg.Client, []string{lk}, token).Err()
	}, true, nil
}

// held reports whether key's lock is held.
func (l *RedisLock) held(ctx context.Context, key string) (bool, error) {
	n, err := l.cfg.Client.Exists(ctx, l.cfg.Prefix+key).Result()
	if err != nil {
		return false, fmt.Errorf("cache: lock of key %s: %w", quote(key), err)
	}
	return n > 0, nil
}

// run returns the entry of key: look (the cache) if another process stored it
// while this one waited, or load's under the lock. load runs at most once.
func (l *RedisLock) run(ctx context.Context, key string, look func() (Entry, bool, error), load func() (Entry, error), obs Observer) (Entry, error) {
	start := time.Now()
	waited := false
	for {
		release, ok, err := l.acquire(ctx, key)
		if err != nil {
			return Entry{}, err
		}
		if ok {
			defer release()
			// The previous holder may have stored the value just before releasing.
			if e, hit, err := look(); err != nil || hit {
				if hit && waited {
					obs.LockWait(time.Since(start))
				}
				return e, err
			}
			return load()
		}
		waited = true
		for n := 0; ; n++ {
			t := time.NewTimer(l.cfg.Poll.Delay(n))
			select {
			case <-ctx.Done():
				t.Stop()
				return Entry{}, fmt.Errorf("cache: waiting for the lock of key %s: %w", quote(key), ctx.Err())
			case <-t.C:
			}
			e, hit, err := look()
			if err != nil {
				return Entry{}, err
			}
			if hit {
				obs.LockWait(time.Since(start))
				return e, nil
			}
			if h, err := l.held(ctx, key); err != nil {
				return Entry{}, err
			} else if !h {
				break // released or expired without a value: try to take it
			}
		}
	}
}
