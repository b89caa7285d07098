package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  registry.Config
		want string // "" for valid
	}{
		{"zero takes defaults", registry.Config{}, ""},
		{"fast", fast, ""},
		{"bad table", registry.Config{Table: "no-dash"}, "Config.Table"},
		{"ttl under a second", registry.Config{TTL: 500 * time.Millisecond, Heartbeat: 100 * time.Millisecond}, ""}, // rounded up to 1s
		{"negative ttl", registry.Config{TTL: -time.Second}, "Config.TTL"},
		{"heartbeat not below ttl", registry.Config{TTL: 2 * time.Second, Heartbeat: 2 * time.Second}, "Config.Heartbeat"},
		{"negative heartbeat", registry.Config{Heartbeat: -time.Second}, "Config.Heartbeat"},
		{"negative poll", registry.Config{Poll: -time.Second}, "Config.Poll"},
		{"health timeout not below heartbeat", registry.Config{Heartbeat: time.Second, Health: registry.HealthConfig{Timeout: time.Second}}, "Config.Health.Timeout"},
		{"metadata limit too big", registry.Config{MaxMetadataBytes: 2 << 20}, "Config.MaxMetadataBytes"},
		{"bad retry", registry.Config{Retry: retry.Policy{If: retry.On(), MaxAttempts: -1}}, "Config.Retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := registry.New(nil, registry.Config{}); err == nil {
		t.Fatal("New(nil DB) succeeded")
	}
}

// Bad input is refused with an error naming the field, and writes nothing.
func TestBadInput(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ok := registry.Instance{Name: name, ID: "i-1", URL: "http://127.0.0.1:8080"}
	with := func(f func(*registry.Instance)) registry.Instance { i := ok; f(&i); return i }
	huge := map[string]string{"blob": strings.Repeat("x", registry.DefaultMaxMetadataBytes)}
	for _, tc := range []struct {
		name string
		inst registry.Instance
		want string
	}{
		{"empty name", with(func(i *registry.Instance) { i.Name = "" }), "Instance.Name is empty"},
		{"name with a space", with(func(i *registry.Instance) { i.Name = name + " x" }), "Instance.Name"},
		{"name too long", with(func(i *registry.Instance) { i.Name = strings.Repeat("a", 101) }), "Instance.Name"},
		{"empty id", with(func(i *registry.Instance) { i.ID = "" }), "Instance.ID is empty"},
		{"id with a slash", with(func(i *registry.Instance) { i.ID = "a/b" }), "Instance.ID"},
		{"empty url", with(func(i *registry.Instance) { i.URL = "" }), "Instance.URL"},
		{"relative url", with(func(i *registry.Instance) { i.URL = "/orders" }), "Instance.URL"},
		{"ftp url", with(func(i *registry.Instance) { i.URL = "ftp://host/x" }), "Instance.URL"},
		{"url without host", with(func(i *registry.Instance) { i.URL = "http:///x" }), "no host"},
		{"url with a password", with(func(i *registry.Instance) { i.URL = "http://u:secret@host/" }), "user information"},
		{"unparsable url", with(func(i *registry.Instance) { i.URL = "http://[::1" }), "Instance.URL"},
		{"bad health url", with(func(i *registry.Instance) { i.HealthURL = "healthz" }), "Instance.HealthURL"},
		{"version not printable", with(func(i *registry.Instance) { i.Version = "1.0\n" }), "Instance.Version"},
		{"huge metadata", with(func(i *registry.Instance) { i.Metadata = huge }), "above Config.MaxMetadataBytes"},
		{"empty metadata key", with(func(i *registry.Instance) { i.Metadata = map[string]string{"": "x"} }), "empty key"},
		{"metadata not utf-8", with(func(i *registry.Instance) { i.Metadata = map[string]string{"k": "\xff"} }), "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := reg.Register(t.Context(), tc.inst)
			if err == nil {
				h.Close()
				t.Fatal("registered")
			}
			if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid naming %q", err, tc.want)
			}
			t.Log(err)
		})
	}
	all, err := reg.DiscoverAll(t.Context(), name)
	if err != nil || len(all) != 0 {
		t.Fatalf("after refused registrations DiscoverAll = %v, %v; want nothing written", all, err)
	}
	if _, err := reg.Discover(t.Context(), ""); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Discover(\"\") = %v, want ErrInvalid", err)
	}
	if _, err := reg.Watch(t.Context(), "a b"); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("Watch(\"a b\") = %v, want ErrInvalid", err)
	}

	// An Update is checked the same way and changes nothing.
	h, err := reg.Register(t.Context(), ok)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, bad := range []registry.Instance{
		with(func(i *registry.Instance) { i.Metadata = huge }),
		with(func(i *registry.Instance) { i.ID = "i-2" }),
	} {
		if err := h.Update(t.Context(), bad); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("Update = %v, want ErrInvalid", err)
		}
	}
	all, err = reg.DiscoverAll(t.Context(), name)
	if err != nil || len(all) != 1 || len(all[0].Metadata) != 0 {
		t.Fatalf("after refused updates DiscoverAll = %+v, %v; want the instance as registered", all, err)
	}
}

// Register lists an instance, Discover finds it with what it registered, Close
// removes it at once.
func TestRegisterDiscoverClose(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ctx := t.Context()
	a := registry.Instance{Name: name, ID: "a", URL: "http://10.0.0.1:8080", Version: "1.0.0", Metadata: map[string]string{"graphql": "true"}}
	b := registry.Instance{Name: name, ID: "b", URL: "https://10.0.0.2:8443/api", Version: "1.0.1"}
	ha, err := reg.Register(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ha.Close()
	hb, err := reg.Register(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Discover(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URL != a.URL || got[0].Metadata["graphql"] != "true" || got[1].Version != "1.0.1" {
		t.Fatalf("Discover = %+v", got)
	}
	all, err := reg.DiscoverAll(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if !e.Healthy || e.Problem != "" || e.RegisteredAt.IsZero() || e.HeartbeatAt.Before(e.RegisteredAt) {
			t.Fatalf("entry %+v: want healthy, with its registration and heartbeat times", e)
		}
	}
	// Heartbeats keep it: wait for a later heartbeat than the registration's.
	testenv.WaitFor(t, 30*time.Second, func() error {
		all, err := reg.DiscoverAll(ctx, name)
		if err != nil {
			return err
		}
		if len(all) != 2 || !all[0].HeartbeatAt.After(all[0].RegisteredAt) {
			return errors.New("no heartbeat after the registration yet")
		}
		return nil
	})
	if err := hb.Close(); err != nil {
		t.Fatal(err)
	}
	<-hb.Done()
	if err := hb.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	got, err = reg.Discover(ctx, name)
	if err != nil || !slices.Equal(ids(got), []string{"a"}) {
		t.Fatalf("after Close of b, Discover = %v, %v; want [a]", ids(got), err)
	}
	if err := hb.Update(ctx, b); err == nil {
		t.Fatal("Update after Close succeeded")
	}
	if other, err := reg.Discover(ctx, service()); err != nil || len(other) != 0 {
		t.Fatalf("Discover of an unknown service = %v, %v; want none", other, err)
	}
}

// healthServer is an instance's health endpoint whose answer the test sets.
type healthServer struct {
	*httptest.Server
	code atomic.Int32
	hits atomic.Int64
}

func newHealthServer(t *testing.T) *healthServer {
	h := &healthServer{}
	h.code.Store(http.StatusOK)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(h.code.Load()))
	}))
	t.Cleanup(h.Close)
	return h
}

// An instance whose check fails drops out of Discover at its next heartbeat and
// stays in DiscoverAll with the problem; it comes back once the check passes.
func TestHealth(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ctx := t.Context()
	srv := newHealthServer(t)
	h, err := reg.Register(ctx, registry.Instance{Name: name, ID: "web-1", URL: srv.URL, HealthURL: srv.URL + "/healthz"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if srv.hits.Load() == 0 {
		t.Fatal("Register wrote the instance without checking its health")
	}
	if got, err := reg.Discover(ctx, name); err != nil || len(got) != 1 {
		t.Fatalf("Discover = %v, %v; want the healthy instance", got, err)
	}
	srv.code.Store(http.StatusServiceUnavailable)
	testenv.WaitFor(t, 30*time.Second, func() error {
		got, err := reg.Discover(ctx, name)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return errors.New("unhealthy instance still discovered")
		}
		return nil
	})
	all, err := reg.DiscoverAll(ctx, name)
	if err != nil || len(all) != 1 || all[0].Healthy || !strings.Contains(all[0].Problem, "503") {
		t.Fatalf("DiscoverAll = %+v, %v; want the instance, unhealthy, with a 503 problem", all, err)
	}
	srv.code.Store(http.StatusOK)
	testenv.WaitFor(t, 30*time.Second, func() error {
		got, err := reg.Discover(ctx, name)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return errors.New("healthy again, not discovered yet")
		}
		return nil
	})

	// A health URL that does not answer is unhealthy, not an error of Register.
	srv2 := newHealthServer(t)
	srv2.Close()
	h2, err := reg.Register(ctx, registry.Instance{Name: name, ID: "web-2", URL: srv2.URL, HealthURL: srv2.URL + "/healthz"})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	all, err = reg.DiscoverAll(ctx, name)
	if err != nil || len(all) != 2 || all[1].Healthy || !strings.Contains(all[1].Problem, "GET "+srv2.URL) {
		t.Fatalf("DiscoverAll = %+v, %v; want web-2 unhealthy with a problem naming its URL", all, err)
	}
}

// The end of Register's context deregisters the instance.
func TestDeregisterOnContextEnd(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ctx, cancel := context.WithCancel(t.Context())
	h, err := reg.Register(ctx, registry.Instance{Name: name, ID: "worker-1", URL: "http://127.0.0.1:9000"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reg.Discover(t.Context(), name); err != nil || len(got) != 1 {
		t.Fatalf("Discover = %v, %v", got, err)
	}
	cancel()
	select {
	case <-h.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("registration not done 30s after its context ended")
	}
	if err := h.Close(); err != nil {
		t.Fatalf("deregistration: %v", err)
	}
	// Done is closed after the delete, which was at LOCAL_QUORUM: gone at once,
	// long before the TTL.
	if got, err := reg.Discover(t.Context(), name); err != nil || len(got) != 0 {
		t.Fatalf("after the context ended Discover = %v, %v; want none", ids(got), err)
	}
}

// Two registries on sessions of their own agree on what they discover, after joins
// through either and leaves.
func TestTwoRegistriesAgree(t *testing.T) {
	r1 := newRegistry(t, ownDB(t), fast)
	r2 := newRegistry(t, ownDB(t), fast)
	name := service()
	ctx := t.Context()
	agree := func(want ...string) {
		t.Helper()
		for i, r := range []*registry.Registry{r1, r2} {
			got, err := r.Discover(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), want) {
				t.Fatalf("registry %d discovers %v, want %v", i+1, ids(got), want)
			}
		}
	}
	var hs []*registry.Registration
	for i, id := range []string{"n1", "n2", "n3", "n4"} {
		r := []*registry.Registry{r1, r2}[i%2]
		h, err := r.Register(ctx, registry.Instance{Name: name, ID: id, URL: "http://10.1.0." + id[1:] + ":80"})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		hs = append(hs, h)
	}
	agree("n1", "n2", "n3", "n4")
	if err := hs[1].Close(); err != nil { // n2, registered through r2
		t.Fatal(err)
	}
	if err := hs[2].Close(); err != nil { // n3, through r1
		t.Fatal(err)
	}
	agree("n1", "n4")
	h, err := r2.Register(ctx, registry.Instance{Name: name, ID: "n2", URL: "http://10.1.0.22:80"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	agree("n1", "n2", "n4")
	got, err := r1.Discover(ctx, name)
	if err != nil || got[1].URL != "http://10.1.0.22:80" {
		t.Fatalf("r1 sees n2 at %v (%v), want its new URL", got, err)
	}
}
