package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// UpOptions selects the optional servers of Up.
type UpOptions struct {
	// Kafka also starts the Kafka broker.
	Kafka bool
}

// services are every server the environment knows, in start order.
func (e *Env) services() []*service {
	return []*service{e.cassandra(), e.redis(), e.kafka()}
}

// Up resolves missing jars, starts the servers that are not running and
// waits until each answers. Servers already up are left alone, so Up is
// idempotent.
func (e *Env) Up(ctx context.Context, opt UpOptions) error {
	start := time.Now()
	arts := []artifact{cassandraArtifact}
	if opt.Kafka {
		arts = append(arts, kafkaArtifact)
	}
	needMaven := false
	for _, a := range arts {
		needMaven = needMaven || !a.cached(e.Cache)
	}
	t, err := e.prerequisites(needMaven)
	if err != nil {
		return err
	}
	for _, a := range arts {
		if err := e.resolve(a, t.mvn); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return err
	}
	var services []*service
	for _, s := range e.services() {
		if s.name != "kafka" || opt.Kafka {
			services = append(services, s)
		}
	}
	// Fail on a foreign port before starting anything.
	for _, s := range services {
		if _, ours := s.proc.pid(); !ours {
			if err := checkFree(s.name, s.ports...); err != nil {
				return err
			}
		}
	}
	for _, s := range services {
		if err := e.up(ctx, s, t); err != nil {
			return err
		}
	}
	e.printf("dev environment up in %s (state in %s)", since(start), e.Dir)
	return nil
}

// Down stops every server this environment started, by recorded pid, and
// removes the pid files. Processes it did not start are never touched.
func (e *Env) Down(context.Context) error {
	var errs []error
	services := e.services()
	// Stop in reverse start order: clients of Cassandra go first.
	for i := len(services) - 1; i >= 0; i-- {
		s := services[i]
		start := time.Now()
		pid, err := s.proc.stop(s.stopWait)
		switch {
		case errors.Is(err, errNotRunning):
			// nothing of ours to stop
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		default:
			e.printf("stopped %s (pid %d) in %s", s.name, pid, since(start))
		}
	}
	return errors.Join(errs...)
}

// Reset stops the servers and deletes the state folder: all data and logs.
// The jar cache is kept.
func (e *Env) Reset(ctx context.Context) error {
	if err := e.Down(ctx); err != nil {
		return err
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		return err
	}
	e.printf("removed %s", e.Dir)
	return nil
}

// State is the observed state of one server.
type State struct {
	// Name is the service: cassandra, redis or kafka.
	Name string
	// Status is "up", "starting" (our process, not answering yet),
	// "foreign" (the port answers but not by a process we started) or "down".
	Status string
	// PID is our process's id, 0 when none.
	PID int
	// Addr is where clients connect.
	Addr string
}

// Status reports the state of every server.
func (e *Env) Status(ctx context.Context) []State {
	var out []State
	for _, s := range e.services() {
		st := State{Name: s.name, Addr: s.addr, Status: "down"}
		pid, ours := s.proc.pid()
		switch {
		case ours && s.answers(ctx):
			st.Status, st.PID = "up", pid
		case ours:
			st.Status, st.PID = "starting", pid
		case answers(s.addr):
			st.Status = "foreign"
		}
		out = append(out, st)
	}
	return out
}

// PrintStatus writes Status as a table.
func (e *Env) PrintStatus(ctx context.Context, w io.Writer) {
	fmt.Fprintf(w, "%-10s %-9s %-8s %s\n", "SERVICE", "STATUS", "PID", "ADDRESS")
	for _, st := range e.Status(ctx) {
		pid := "-"
		if st.PID != 0 {
			pid = strconv.Itoa(st.PID)
		}
		fmt.Fprintf(w, "%-10s %-9s %-8s %s\n", st.Name, st.Status, pid, st.Addr)
	}
}

// Logs writes the last n lines of each log of the named service (all
// services when name is empty).
func (e *Env) Logs(name string, n int, w io.Writer) error {
	found := false
	for _, s := range e.services() {
		if name != "" && s.name != name {
			continue
		}
		found = true
		for _, l := range s.logFiles() {
			t, err := tail(l, n)
			if err != nil {
				if os.IsNotExist(err) {
					continue
				}
				return err
			}
			fmt.Fprintf(w, "==> %s <==\n%s", l, t)
		}
	}
	if !found {
		return fmt.Errorf("unknown service %q: want cassandra, redis or kafka", name)
	}
	return nil
}
