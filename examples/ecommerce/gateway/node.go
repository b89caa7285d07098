package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// The Node side and the npm packages it needs, pinned.
var (
	//go:embed gateway.mjs
	script []byte
	//go:embed package.json
	packageJSON []byte
	//go:embed package-lock.json
	packageLock []byte
)

// install makes sure the pinned npm packages are in the cache and the script
// beside them (ES modules find their packages from the script's folder, not
// from NODE_PATH); it returns the script's path and the folder to run it in.
func (g *Gateway) install(ctx context.Context) (string, string, error) {
	env := g.cfg.Env
	if env == nil {
		var err error
		if env, err = devenv.Load(io.Discard); err != nil {
			return "", "", fmt.Errorf("gateway: the npm packages' cache: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "gateway-packages-")
	if err != nil {
		return "", "", fmt.Errorf("gateway: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "gateway")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("gateway: %w", err)
	}
	for name, b := range map[string][]byte{"package.json": packageJSON, "package-lock.json": packageLock} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", "", fmt.Errorf("gateway: %w", err)
		}
	}
	home, err := env.NodeModules(ctx, dir)
	if err != nil {
		return "", "", fmt.Errorf("gateway: %w", err)
	}
	sum := sha256.Sum256(script)
	path := filepath.Join(home, "gateway-"+hex.EncodeToString(sum[:8])+".mjs")
	if _, err := os.Stat(path); err == nil {
		return path, home, nil
	}
	// Written under another name and renamed, so that no process runs half a file.
	f, err := os.CreateTemp(home, ".gateway-*.mjs")
	if err != nil {
		return "", "", fmt.Errorf("gateway: %w", err)
	}
	_, werr := f.Write(script)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return "", "", fmt.Errorf("gateway: writing %s: %w", path, werr)
	}
	return path, home, nil
}

// supervise runs the Node process until ctx ends, starting it again, after a
// backoff, whenever it exits or does not become ready within StartTimeout.
func (g *Gateway) supervise(ctx context.Context, script, dir, control string) {
	attempt := 0
	for ctx.Err() == nil {
		start := time.Now()
		err := g.runNode(ctx, script, dir, control)
		g.node.Store(nil)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			attempt = 0
		}
		wait := g.cfg.Restart.Delay(attempt)
		attempt++
		g.mu.Lock()
		g.status.Restarts++
		g.status.Version, g.status.NodePID = 0, 0
		g.mu.Unlock()
		g.restarts.Inc()
		g.cfg.Log.Error("gateway: Node process stopped; restarting", "err", err, "after", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// runNode runs one Node process until it exits, ctx ends (SIGTERM, then SIGKILL
// after 5s) or it is not ready within StartTimeout.
func (g *Gateway) runNode(ctx context.Context, script, dir, control string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.cfg.Node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GATEWAY_CONTROL="+control,
		"GATEWAY_TOKEN="+g.token,
		"GATEWAY_POLL_MS="+strconv.FormatInt(g.cfg.Poll.Milliseconds(), 10),
		"GATEWAY_TIMEOUT_MS="+strconv.FormatInt(g.cfg.Timeout.Milliseconds(), 10),
		"NODE_ENV=production",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	out := &lineLog{log: g.cfg.Log}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("gateway: starting %s %s: %w", g.cfg.Node, script, err)
	}
	g.cfg.Log.Info("gateway: Node process started", "pid", cmd.Process.Pid)
	g.mu.Lock()
	g.status.NodePID = cmd.Process.Pid
	g.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t := time.NewTimer(g.cfg.StartTimeout)
		defer t.Stop()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for g.node.Load() == nil {
			select {
			case <-done:
				return
			case <-t.C:
				g.cfg.Log.Error("gateway: Node process not ready in time; stopping it", "pid", cmd.Process.Pid, "timeout", g.cfg.StartTimeout)
				cancel()
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err != nil {
		return fmt.Errorf("gateway: Node process %d: %w", cmd.Process.Pid, err)
	}
	return fmt.Errorf("gateway: Node process %d exited", cmd.Process.Pid)
}

// lineLog logs each line the Node process writes (stdout and stderr: exec
// copies both into it from one goroutine each, hence the lock).
type lineLog struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

// Write logs the complete lines of p and keeps the rest, up to 64 KiB.
func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.log.Warn("gateway: node", "line", string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 {
		l.log.Warn("gateway: node", "line", string(l.buf))
		l.buf = nil
	}
	return len(p), nil
}
