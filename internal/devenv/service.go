package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// service is one server of the environment and how to run it.
type service struct {
	name, version string
	// addr is where clients connect; ports are every address the server
	// binds, addr included, checked to be free before a start.
	addr  string
	ports []string
	proc  proc
	// console receives the process's stdout and stderr; logs are the log
	// files `dev logs` shows, the most useful first.
	console string
	logs    []string
	// command writes configs and builds the server command.
	command func(ctx context.Context, t tools) (*exec.Cmd, error)
	// ready succeeds once the server answers its protocol at addr.
	ready                  func(ctx context.Context) error
	startTimeout, stopWait time.Duration
}

// up starts s unless it already runs, and waits until it answers.
func (e *Env) up(ctx context.Context, s *service, t tools) error {
	if pid, ok := s.proc.pid(); ok {
		if s.answers(ctx) {
			e.printf("%s already up (pid %d) on %s", s.name, pid, s.addr)
			return nil
		}
		e.printf("%s (pid %d) is starting, waiting for %s ...", s.name, pid, s.addr)
		return e.await(ctx, s, &running{pid: pid}, time.Now())
	}
	_ = os.Remove(s.proc.pidFile)
	if err := checkFree(s.name, s.ports...); err != nil {
		return err
	}
	cmd, err := s.command(ctx, t)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	e.printf("starting %s %s on %s ...", s.name, s.version, s.addr)
	start := time.Now()
	r, err := s.proc.start(cmd, s.console)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return e.await(ctx, s, r, start)
}

// answers is true when s's protocol check passes within a few seconds.
func (s *service) answers(ctx context.Context) bool {
	if !answers(s.addr) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.ready(ctx) == nil
}

// await polls s until it answers, its process dies, or startTimeout passes.
func (e *Env) await(ctx context.Context, s *service, r *running, start time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.startTimeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			e.printf("%s %s up on %s in %s (pid %d)", s.name, s.version, s.addr, since(start), r.pid)
			return nil
		}
		var exited <-chan struct{} = r.exited
		select {
		case <-exited:
			_ = os.Remove(s.proc.pidFile)
			return fmt.Errorf("%s exited during start; last log lines:\n%s", s.name, e.logTail(s, 30))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer on %s within %s (pid %d still running; `dev down` stops it); last log lines:\n%s",
					s.name, s.addr, s.startTimeout, r.pid, e.logTail(s, 30))
			}
			return ctx.Err()
		case <-tick.C:
			if r.exited == nil && !isOurs(r.pid, s.proc.marker) {
				_ = os.Remove(s.proc.pidFile)
				return fmt.Errorf("%s (pid %d) exited during start; last log lines:\n%s", s.name, r.pid, e.logTail(s, 30))
			}
		}
	}
}

// logTail is the tail of each of s's logs, console last.
func (e *Env) logTail(s *service, n int) string {
	var out string
	for _, l := range s.logFiles() {
		if t, err := tail(l, n); err == nil && len(t) > 1 {
			out += "==> " + l + " <==\n" + t
		}
	}
	return out
}

// logFiles are s's logs followed by its console file, without repeats.
func (s *service) logFiles() []string {
	for _, l := range s.logs {
		if l == s.console {
			return s.logs
		}
	}
	return append(append([]string(nil), s.logs...), s.console)
}
