// Package crashtest is what the module's crash tests share: a Pool runs a test
// binary's helper test as worker processes, each of which kills itself with
// SIGKILL at the kill point it was handed, replaces every worker that died, and
// now and then pauses one (SIGSTOP, then SIGCONT) for longer than its lease.
// The worker side is Worker and Killer.At; what the workers do, and what the
// test checks once they are done, belongs to the test.
//
// It needs a Unix system: it sends signals.
package crashtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The environment of a worker process.
const (
	workerEnv = "CRASHTEST_WORKER" // set: this process is a worker
	killEnv   = "CRASHTEST_KILL"   // its kill point, empty for none
)

// Ready is what a worker prints on its standard output once it works.
const Ready = "CRASHTEST WORKER READY"

// Points returns the kill points "<step>/<do|undo>/<before|after>" of every step
// and every compensation, before and after its effect.
func Points(steps ...string) []string {
	var out []string
	for _, st := range steps {
		for _, d := range []saga.Direction{saga.Do, saga.Undo} {
			for _, p := range []string{"before", "after"} {
				out = append(out, Point(st, d, p))
			}
		}
	}
	return out
}

// Point names the kill point of step in direction d at phase (before or after).
func Point(step string, d saga.Direction, phase string) string {
	return step + "/" + string(d) + "/" + phase
}

// Config configures a Pool.
type Config struct {
	// Helper is the test function the workers run: the test binary is started
	// with -test.run=^Helper$, and Helper calls Worker. Required.
	Helper string
	// Env is added to every worker's environment.
	Env []string
	// Workers is how many run at once (default 3).
	Workers int
	// Kills are the kill points, one to each new worker in turn; workers started
	// once all are handed out get none.
	Kills []string
	// Every PauseEvery, the next worker in turn is stopped for PauseFor, then
	// resumed. Zero PauseEvery: no pauses.
	PauseEvery, PauseFor time.Duration
}

// Pool is the worker processes of one test. Its methods are for the test's
// goroutine.
type Pool struct {
	cfg Config

	mu      sync.Mutex
	procs   []*proc
	next    int      // the next kill point to hand out
	reached []string // the kill points of workers that killed themselves
	paused  int

	stopPausing context.CancelFunc
	pauses      sync.WaitGroup
}

type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
	kill  string
	out   *strings.Builder // guarded by Pool.mu
}

// Start starts cfg.Workers workers, and the pauses; t's cleanup kills the workers
// still running.
func Start(t testing.TB, cfg Config) *Pool {
	t.Helper()
	if cfg.Workers == 0 {
		cfg.Workers = 3
	}
	if cfg.Helper == "" {
		t.Fatal("crashtest: Config.Helper names no test function")
	}
	p := &Pool{cfg: cfg}
	for range cfg.Workers {
		p.procs = append(p.procs, p.start(t))
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, w := range p.procs {
			_ = w.cmd.Process.Kill()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.stopPausing = cancel
	if cfg.PauseEvery > 0 {
		p.pauses.Add(1)
		go p.pause(ctx)
	}
	return p
}

// start starts a worker with the next kill point.
func (p *Pool) start(t testing.TB) *proc {
	t.Helper()
	p.mu.Lock()
	kill := ""
	if p.next < len(p.cfg.Kills) {
		kill = p.cfg.Kills[p.next]
		p.next++
	}
	p.mu.Unlock()
	cmd := exec.Command(os.Args[0], "-test.run=^"+p.cfg.Helper+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), p.cfg.Env...), workerEnv+"=1", killEnv+"="+kill)
	w := &proc{cmd: cmd, done: make(chan error, 1), kill: kill, out: &strings.Builder{}}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			w.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("crashtest: starting a worker: %v", err)
	}
	go func() { w.done <- cmd.Wait(); _ = pw.Close() }()
	return w
}

// pause stops the workers in turn until ctx ends.
func (p *Pool) pause(ctx context.Context) {
	defer p.pauses.Done()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.cfg.PauseEvery):
		}
		p.mu.Lock()
		w := p.procs[i%len(p.procs)]
		p.mu.Unlock()
		if w.cmd.Process.Signal(syscall.SIGSTOP) != nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(p.cfg.PauseFor):
		}
		_ = w.cmd.Process.Signal(syscall.SIGCONT)
		p.mu.Lock()
		p.paused++
		p.mu.Unlock()
	}
}

// Check replaces every worker that has died. A worker must die only by its own
// SIGKILL at its kill point: any other end fails t, with what the worker printed.
func (p *Pool) Check(t testing.TB) {
	t.Helper()
	for i := range p.procs {
		p.mu.Lock()
		w := p.procs[i]
		p.mu.Unlock()
		select {
		case err := <-w.done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				p.mu.Lock()
				out := w.out.String()
				p.mu.Unlock()
				t.Fatalf("crashtest: worker (kill point %q) ended with %v, not its own SIGKILL:\n%s", w.kill, err, out)
			}
			nw := p.start(t)
			p.mu.Lock()
			p.reached = append(p.reached, w.kill)
			p.procs[i] = nw
			p.mu.Unlock()
		default:
		}
	}
}

// Until checks the workers (see Check) until done reports true, or fails t
// after limit with done's progress report (testenv.WaitFor does the polling).
// Kill points not handed out by then are never reached: Stop tells which were.
func (p *Pool) Until(t testing.TB, limit time.Duration, done func() (ok bool, progress string, err error)) {
	t.Helper()
	testenv.WaitFor(t, limit, func() error {
		p.Check(t)
		ok, progress, err := done()
		switch {
		case err != nil:
			t.Fatal(err)
		case !ok:
			return errors.New(progress)
		}
		return nil
	})
}

// Reached returns how many workers have killed themselves at their kill point so
// far (as Check found them).
func (p *Pool) Reached() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reached)
}

// Stop ends the pauses, resumes the workers and closes their standard input, which
// makes them return from Worker. It reports the kill points at which a worker
// killed itself, those it did not, and how many times a worker was paused.
func (p *Pool) Stop() (reached, missed []string, paused int) {
	p.stopPausing()
	p.pauses.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.procs {
		_ = w.cmd.Process.Signal(syscall.SIGCONT)
		_ = w.stdin.Close()
	}
	for _, k := range p.cfg.Kills {
		if !slices.Contains(p.reached, k) {
			missed = append(missed, k)
		}
	}
	return p.reached, missed, p.paused
}

// Killer is a worker's kill point.
type Killer struct {
	point string
	once  sync.Once
}

// At kills this process with SIGKILL if point is its kill point, the first time
// it gets there; a nil Killer never kills.
func (k *Killer) At(point string) {
	if k == nil || k.point == "" || point != k.point {
		return
	}
	k.once.Do(func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	})
}

// Worker reports whether this process is a worker a Pool started and, if it is,
// returns its Killer and a context that ends when the Pool stops it. It prints
// Ready.
func Worker() (*Killer, context.Context, bool) {
	if os.Getenv(workerEnv) == "" {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Println(Ready)
	return &Killer{point: os.Getenv(killEnv)}, ctx, true
}

// Takeovers returns, for every attempt in saga history h that another worker took
// over, how long after the attempt's deadline that happened; timeout gives a
// step's timeout. It also returns the longest time an attempt stayed in flight,
// and which.
func Takeovers(h []saga.Entry, timeout func(step string) time.Duration) (resumed []time.Duration, longest time.Duration, which string) {
	for j := 0; j+1 < len(h); j++ {
		e, nx := h[j], h[j+1]
		if e.Event != "attempt" {
			continue
		}
		d := nx.At.Sub(e.At)
		if nx.Event == "taken_over" {
			resumed = append(resumed, d-timeout(e.Step))
		}
		if d > longest {
			longest, which = d, fmt.Sprintf("%s/%s attempt %d, then %s by %s", e.Step, e.Direction, e.Attempt, nx.Event, nx.Owner)
		}
	}
	return resumed, longest, which
}

// Summary describes durations ds as their count, median, 90th percentile and
// maximum.
func Summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(ds))
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("%d: median %s, 90th percentile %s, max %s", len(s), r(s[len(s)/2]), r(s[len(s)*9/10]), r(s[len(s)-1]))
}
