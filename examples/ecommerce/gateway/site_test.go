package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestSite: the gateway serves /healthz, /status, /metrics and the web pages,
// and proxies /ws, upgraded, to a real realtime hub on Redis registered as the
// hub service: a message broadcast to the room arrives through the gateway.
func TestSite(t *testing.T) {
	f := newFixture(t)
	users, hubName := "users-"+suffix(), "hub-"+suffix()
	f.start("customer", users)

	key := []byte("a key of at least thirty-two bytes, for the test")
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: env.Redis(t), Prefix: "gateway_test_" + suffix()})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close() })
	hubSrv := httptest.NewServer(hub.Handler())
	t.Cleanup(hubSrv.Close)
	reg, err := f.reg.Register(t.Context(), registry.Instance{Name: hubName, ID: hubName + "-1", URL: hubSrv.URL, Metadata: map[string]string{"ws": "/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })

	_, url := f.gateway([]string{users}, gateway.Config{Hub: hubName})
	if code, body := get(t, url+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get(t, url+"/status")
	var st gateway.Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil || !st.Ready || st.NodePID == 0 {
		t.Errorf("/status: %d %s (%v)", code, body, err)
	}
	if code, body := get(t, url+"/metrics"); code != http.StatusOK || !strings.Contains(body, "\ngateway_subgraphs 1\n") ||
		!strings.Contains(body, "\ngateway_compositions_total ") {
		t.Errorf("/metrics: %d, want gateway_subgraphs 1 and gateway_compositions_total:\n%.2000s", code, body)
	}
	if code, body := get(t, url+"/admin"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Errorf("/admin: %d %.200q", code, body)
	}

	tok, err := realtime.IssueToken(key, realtime.Claims{User: "42", Tenant: "acme"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	waitFor(t, time.Minute, "the hub routed", func() (bool, string) {
		code, body := get(t, url+"/ws")
		return code != http.StatusServiceUnavailable, fmt.Sprint(code, body)
	})
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws?token="+tok, nil)
	if err != nil {
		t.Fatalf("dial /ws through the gateway: %v", err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"join","room":"user:42"}`)); err != nil {
		t.Fatal(err)
	}
	read := func() realtime.Frame {
		t.Helper()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var fr realtime.Frame
		if err := json.Unmarshal(b, &fr); err != nil {
			t.Fatal(err)
		}
		return fr
	}
	if fr := read(); fr.Op != realtime.OpJoined {
		t.Fatalf("first frame %+v, want joined", fr)
	}
	if _, err := hub.Broadcast(tenant.With(ctx, "acme"), "user:42", "order_status_update", map[string]string{"status": "shipped"}); err != nil {
		t.Fatal(err)
	}
	if fr := read(); fr.Op != realtime.OpMessage || fr.Type != "order_status_update" || !strings.Contains(string(fr.Data), "shipped") {
		t.Fatalf("frame %+v, want the broadcast message", fr)
	}
}

// TestNodeRestarted kills the Node process: the gateway starts another, which
// serves the supergraph again.
func TestNodeRestarted(t *testing.T) {
	f := newFixture(t)
	users := "users-" + suffix()
	f.start("customer", users)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users}, gateway.Config{})
	pid := g.Status().NodePID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "a new Node process serving", func() (bool, string) {
		st := g.Status()
		return st.Ready && st.Restarts == 1 && st.NodePID != pid && st.NodePID != 0, fmt.Sprintf("%+v", st)
	})
	q := `{ customer(id: "` + id + `") { name } }`
	if r := post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme"); len(r.Errors) > 0 || r.field("customer", "name") != "name of acme" {
		t.Fatalf("after the restart: %v %s", r.Data, r.errorsText())
	}
}
