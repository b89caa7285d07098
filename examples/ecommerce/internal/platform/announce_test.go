package platform_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("platform_test")

func TestMain(m *testing.M) { env.Main(m) }

// Thing is the model of the test's subgraph.
type Thing struct {
	ID   string `cql:"id" orm:"pk"`
	Name string `cql:"name"`
}

// TestServeAnnounced serves a subgraph with Routes and ServeAnnounced: the
// instance is in the registry, healthy, with the paths the gateway reads;
// the SDL and /healthz answer without a tenant, /graphql only with one; when
// the context ends the instance leaves the registry at once, not at its TTL.
func TestServeAnnounced(t *testing.T) {
	env.Session(t) // the run's keyspace
	ctx := t.Context()
	st, err := platform.Open(ctx, env.Keyspace())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	things := orm.MustModel[Thing](st.Tenanted)
	if err := st.Provision(ctx, func(ctx context.Context) error { return st.Tenanted.Sync(ctx, things) }, "acme"); err != nil {
		t.Fatal(err)
	}
	if ids, err := st.ActiveTenants(ctx); err != nil || !slices.Contains(ids, "acme") {
		t.Fatalf("ActiveTenants: %v %v, want acme among them", ids, err)
	}
	sub, err := graphql.New(graphql.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := graphql.Add(sub, things, graphql.ReadOnly()); err != nil {
		t.Fatal(err)
	}
	if err := sub.Build(); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api") })
	h, err := st.Routes(api, sub, platform.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	service := "svc-" + strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "")
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	addrs := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- platform.ServeAnnounced(sctx, "127.0.0.1:0", h, slog.New(slog.NewTextHandler(t.Output(), nil)),
			platform.Announcement{Service: service, GraphQL: true, Keyspace: env.Keyspace(), TTL: 30 * time.Second},
			func(addr string) { addrs <- addr })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-served:
		t.Fatalf("ServeAnnounced: %v", err)
	}
	reg, err := registry.New(st.DB, registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := reg.DiscoverAll(ctx, service)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 1 || insts[0].URL != "http://"+addr || !insts[0].Healthy ||
		insts[0].Metadata["graphql"] != platform.GraphQLPath || insts[0].Metadata["sdl"] != platform.SDLPath ||
		insts[0].HealthURL != "http://"+addr+platform.HealthPath {
		t.Fatalf("registry: %+v", insts)
	}
	for _, c := range []struct {
		method, path, tenant, body string
		code                       int
		has                        string
	}{
		{"GET", platform.SDLPath, "", "", http.StatusOK, "type Thing @key("},
		{"GET", platform.HealthPath, "", "", http.StatusOK, "ok"},
		{"GET", "/metrics", "", "", http.StatusOK, "go_goroutines"},
		{"POST", platform.GraphQLPath, "", `{"query":"{ thing(id: \"x\") { id } }"}`, http.StatusBadRequest, ""},
		{"POST", platform.GraphQLPath, "acme", `{"query":"{ thing(id: \"x\") { id } }"}`, http.StatusOK, `"thing":null`},
		{"GET", "/other", "acme", "", http.StatusOK, "api"},
	} {
		req, _ := http.NewRequestWithContext(ctx, c.method, "http://"+addr+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.tenant != "" {
			req.Header.Set("X-Tenant-ID", c.tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.has) {
			t.Errorf("%s %s (tenant %q): %d %.200s, want %d with %q", c.method, c.path, c.tenant, resp.StatusCode, b, c.code, c.has)
		}
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("ServeAnnounced after the context ended: %v", err)
	}
	if insts, err := reg.DiscoverAll(ctx, service); err != nil || len(insts) != 0 {
		t.Errorf("after shutdown: %+v %v, want no instance", insts, err)
	}
}
