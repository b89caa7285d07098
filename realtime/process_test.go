package realtime_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// helperEnv, set to a key prefix, makes TestHelperHub serve a hub on that
// prefix: TestTwoProcesses runs the test binary so, as a second process.
const helperEnv = "REALTIME_HELPER_PREFIX"

// TestHelperHub is the hub process of TestTwoProcesses (and does nothing
// in a plain test run). It prints "HUB <ws url>", then reads lines
// "<tenant> <room> <type> <json>" from its standard input, broadcasts each
// and prints "SENT <id>" or "ERR <error>", until its input ends.
func TestHelperHub(t *testing.T) {
	p := os.Getenv(helperEnv)
	if p == "" {
		return
	}
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: env.Redis(t), Prefix: p, HistoryTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h, err := realtime.New(realtime.Config{Bus: bus, HMACKey: key})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()
	fmt.Printf("HUB ws%s\n", strings.TrimPrefix(srv.URL, "http"))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) != 4 {
			fmt.Printf("ERR want 4 fields, got %q\n", sc.Text())
			continue
		}
		id, err := h.Broadcast(tenant.With(t.Context(), f[0]), f[1], f[2], rawJSON(f[3]))
		if err != nil {
			fmt.Printf("ERR %v\n", err)
			continue
		}
		fmt.Printf("SENT %s\n", id)
	}
}

// rawJSON is data that is JSON already.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// helper is a hub process started by startHelper.
type helper struct {
	t     *testing.T
	url   string
	stdin io.WriteCloser
	lines chan string

	output output // all it printed, for failures
}

// startHelper runs TestHelperHub in a new process on prefix p, and waits
// until it serves. The test's end closes its input and waits for it.
func startHelper(t *testing.T, p string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHub$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+p)
	h := &helper{t: t, lines: make(chan string, 16)}
	var err error
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &h.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the hub process: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.output.Write([]byte(sc.Text() + "\n"))
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		_ = h.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub process: %v\n%s", err, h.printed())
			}
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			t.Errorf("hub process still running %v after its input closed:\n%s", wait, h.printed())
		}
	})
	h.url = strings.TrimPrefix(h.expect("HUB "), "HUB ")
	return h
}

// output collects what the process prints.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// expect waits for the process's next line, which must start with want.
func (h *helper) expect(want string) string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok || !strings.HasPrefix(l, want) {
			h.t.Fatalf("hub process printed %q, want %q...; all it printed:\n%s", l, want, h.printed())
		}
		return l
	case <-time.After(wait):
		h.t.Fatalf("hub process printed no %q in %v:\n%s", want, wait, h.printed())
	}
	return ""
}

func (h *helper) printed() string {
	h.output.mu.Lock()
	defer h.output.mu.Unlock()
	return h.output.b.String()
}

// broadcast has the process broadcast a message, and returns its id.
func (h *helper) broadcast(tenantID, room, typ, data string) string {
	h.t.Helper()
	if _, err := fmt.Fprintf(h.stdin, "%s %s %s %s\n", tenantID, room, typ, data); err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimPrefix(h.expect("SENT "), "SENT ")
}

// A message broadcast through one hub process reaches the room's members
// on another, and a client that moves from one process to the other
// resumes without loss.
func TestTwoProcesses(t *testing.T) {
	p := prefix(t)
	local := newServer(t, newBus(t, func(c *realtime.RedisConfig) { c.Prefix = p }), nil)
	remote := startHelper(t, p)
	onRemote := &server{url: remote.url}

	tok := token(t, "acme", "42")
	a := dial(t, onRemote, tok) // connected to the other process
	b := dial(t, local, tok)
	for _, c := range []*client{a, b} {
		if f := c.join("user:42", ""); f.Op != realtime.OpJoined {
			t.Fatalf("join: %+v", f)
		}
	}
	// Another tenant's member on the other process must get nothing.
	other := dial(t, onRemote, token(t, "globex", "42"))
	other.join("user:42", "")

	sent := []string{
		broadcast(t, local, "acme", "user:42", "order_status_update", map[string]string{"status": "paid"}).String(),
		remote.broadcast("acme", "user:42", "order_status_update", `{"status":"shipped"}`),
	}
	for name, c := range map[string]*client{"on the other process": a, "on this process": b} {
		got := c.waitMessages("user:42", 2)
		if !slices.Equal(ids(got), sent) || string(got[0].Data) != `{"status":"paid"}` || string(got[1].Data) != `{"status":"shipped"}` {
			t.Fatalf("client %s got %+v, want ids %v", name, got, sent)
		}
	}

	// a leaves the other process, messages come meanwhile, and it comes
	// back on this one with its last id.
	_ = a.ws.CloseNow()
	missed := []string{
		remote.broadcast("acme", "user:42", "n", "1"),
		broadcast(t, local, "acme", "user:42", "n", 2).String(),
	}
	a2 := dial(t, local, tok)
	if f := a2.join("user:42", sent[1]); f.Op != realtime.OpJoined || f.Last != missed[1] {
		t.Fatalf("resume: %+v", f)
	}
	if got := ids(a2.messages("user:42")); !slices.Equal(got, missed) {
		t.Fatalf("resumed with %v, want %v", got, missed)
	}
	remote.broadcast("globex", "user:42", "last", "null")
	if got := other.waitMessages("user:42", 1); len(got) != 1 || got[0].Type != "last" || other.received() != 1 {
		t.Fatalf("the other tenant's member got %+v", other.snapshot())
	}
}
