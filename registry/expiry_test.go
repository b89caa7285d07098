package registry_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The environment of the registering helper process.
const (
	helperKeyspace = "REGISTRY_HELPER_KEYSPACE" // set: this process is the helper
	helperService  = "REGISTRY_HELPER_SERVICE"
	helperReady    = "REGISTRY HELPER READY"
)

// TestHelperRegistrant is the registering process of TestKilledInstanceExpires: it
// registers one instance of the service named in its environment and heartbeats
// until it is killed (or its standard input closes). Run alone, it does nothing.
func TestHelperRegistrant(t *testing.T) {
	ks := os.Getenv(helperKeyspace)
	if ks == "" {
		t.Skip("the helper process of TestKilledInstanceExpires")
	}
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: ks})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.New(db, fast)
	if err != nil {
		t.Fatal(err)
	}
	h, err := reg.Register(ctx, registry.Instance{Name: os.Getenv(helperService), ID: fmt.Sprintf("pid-%d", os.Getpid()), URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(helperReady)
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = h.Close()
}

// A registering process killed with SIGKILL cannot deregister: its instance must
// drop out of Discover once its TTL has passed since its last heartbeat, seen by a
// watch no later than TTL + one poll after that heartbeat.
//
// The bound gets a slack of one second: the heartbeat's time is read on the
// helper's clock before its write is sent, and the write reaches the node, which
// starts the TTL then, a little later; the watch's poll that sees the leave takes a
// moment of its own too. (Cassandra counts TTLs from the start of the second in
// which the write lands, which can only make the row expire sooner.)
func TestKilledInstanceExpires(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ctx := t.Context()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRegistrant$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), helperKeyspace+"="+env.Keyspace(), helperService+"="+name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	exited := make(chan error, 1)
	ready := make(chan bool, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == helperReady {
				ready <- true
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("helper ended before registering: %v\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("helper not ready within 2 minutes")
	}

	events, err := reg.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("pid-%d", cmd.Process.Pid)
	expect(t, events, registry.Joined, id)

	// Kill it just after a heartbeat has been written, so that none is in flight:
	// the heartbeat read after the kill is the last one.
	var seen time.Time
	testenv.WaitFor(t, time.Minute, func() error {
		all, err := reg.DiscoverAll(ctx, name)
		if err != nil || len(all) != 1 {
			return fmt.Errorf("helper's instance: %v, %v", all, err)
		}
		switch hb := all[0].HeartbeatAt; {
		case seen.IsZero():
			seen = hb
		case hb.After(seen):
			return nil
		}
		return errors.New("waiting for a fresh heartbeat")
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	killed := time.Now()
	all, err := reg.DiscoverAll(ctx, name)
	if err != nil || len(all) != 1 {
		t.Fatalf("right after the kill DiscoverAll = %v, %v; want the instance still listed", all, err)
	}
	last := all[0].HeartbeatAt

	ev := expect(t, events, registry.Left, id)
	got, err := reg.Discover(ctx, name)
	if err != nil || len(got) != 0 {
		t.Fatalf("after the leave Discover = %v, %v; want none", ids(got), err)
	}
	delay := ev.At.Sub(last)
	bound := fast.TTL + fast.Poll + time.Second
	t.Logf("killed instance left %v after its last heartbeat (%v after the kill); TTL %v, poll %v, bound %v",
		delay.Round(time.Millisecond), ev.At.Sub(killed).Round(time.Millisecond), fast.TTL, fast.Poll, bound)
	if delay > bound {
		t.Fatalf("killed instance left %v after its last heartbeat, above TTL + poll + 1s = %v", delay, bound)
	}
}
