package devenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAddr is where the environment's Redis listens.
const RedisAddr = "127.0.0.1:6379"

func (e *Env) redis() *service {
	dir := e.path("redis")
	log := filepath.Join(dir, "redis.log")
	return &service{
		name: "redis", version: "(Debian)",
		addr:    RedisAddr,
		ports:   []string{RedisAddr},
		proc:    proc{pidFile: e.path("redis.pid"), marker: "redis-server"},
		console: log,
		logs:    []string{log},
		command: func(_ context.Context, t tools) (*exec.Cmd, error) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			// Our own foreground process, nothing persisted: the data is
			// disposable test state.
			cmd := exec.Command(t.redis,
				"--bind", "127.0.0.1", "--port", "6379",
				"--daemonize", "no", "--save", "", "--appendonly", "no",
				"--dir", dir, "--logfile", "")
			cmd.Dir = dir
			return cmd, nil
		},
		ready:        func(ctx context.Context) error { return PingRedis(ctx, RedisAddr) },
		startTimeout: 30 * time.Second,
		stopWait:     10 * time.Second,
	}
}

// PingRedis checks that a Redis server answers PING at addr.
func PingRedis(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 2 * time.Second})
	defer c.Close()
	return c.Ping(ctx).Err()
}
