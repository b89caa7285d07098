package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("gateway_test")

// The environment of a subgraph child process (the test binary run again).
const (
	envModel    = "GATEWAY_TEST_MODEL"    // customer, item, review or broken
	envService  = "GATEWAY_TEST_SERVICE"  // its registry name
	envKeyspace = "GATEWAY_TEST_KEYSPACE" // the run's keyspace
	envDelay    = "GATEWAY_TEST_DELAY"    // a delay before each answer (a slow subgraph)
	envAuth     = "GATEWAY_TEST_AUTH"     // the Authorization header every request must carry
)

func TestMain(m *testing.M) {
	if os.Getenv(envModel) != "" {
		if err := serveSubgraph(); err != nil {
			fmt.Fprintln(os.Stderr, "subgraph:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	env.Main(m)
}

// Customer is the "users" subgraph's model.
type Customer struct {
	ID   string `cql:"id" orm:"pk"`
	Name string `cql:"name"`
}

// Item is the "catalog" subgraph's model.
type Item struct {
	SKU   string `cql:"sku" orm:"pk"`
	Title string `cql:"title"`
}

// Review is the model of the subgraph that joins later.
type Review struct {
	ID    string `cql:"id" orm:"pk"`
	Stars int32  `cql:"stars"`
}

// regConfig is the registry's configuration in the tests and their subgraphs: a
// killed subgraph leaves within TTL.
var regConfig = registry.Config{TTL: 2 * time.Second, Heartbeat: 500 * time.Millisecond, Poll: 200 * time.Millisecond}

// openDB returns a tenanted DB on the run's keyspace with the models.
func openDB(ctx context.Context, hosts []string, keyspace string) (*orm.DB, *orm.DB, error) {
	base, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: keyspace})
	if err != nil {
		return nil, nil, err
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		base.Close()
		return nil, nil, err
	}
	return base, db, nil
}

// serveSubgraph is the child process: one model's subgraph at /graphql (with
// its SDL at /graphql/sdl), registered in the registry until it is killed.
func serveSubgraph() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	base, db, err := openDB(ctx, env.Hosts(), os.Getenv(envKeyspace))
	if err != nil {
		return err
	}
	defer base.Close()
	s, err := graphql.New(graphql.Config{})
	if err != nil {
		return err
	}
	var gql http.Handler = s
	sdl := ""
	switch m := os.Getenv(envModel); m {
	case "customer":
		err = graphql.Add(s, orm.MustModel[Customer](db))
	case "item":
		err = graphql.Add(s, orm.MustModel[Item](db))
	case "review":
		err = graphql.Add(s, orm.MustModel[Review](db))
	case "broken": // a deployment whose schema names a type it does not define
		sdl = "type Query {\n  broken: NoSuchType\n}\n"
		gql = http.NotFoundHandler()
	default:
		err = fmt.Errorf("unknown model %q", m)
	}
	if err == nil && sdl == "" {
		if err = s.Build(); err == nil {
			sdl = s.SDL()
		}
	}
	if err != nil {
		return err
	}
	var delay time.Duration
	if v := os.Getenv(envDelay); v != "" {
		if delay, err = time.ParseDuration(v); err != nil {
			return err
		}
	}
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: tenanthttp.ResolverFunc(func(context.Context, string) error { return nil })})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	auth := os.Getenv(envAuth)
	mux.Handle("/graphql", mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth != "" && r.Header.Get("Authorization") != auth {
			http.Error(w, "wrong Authorization", http.StatusUnauthorized)
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		gql.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /graphql/sdl", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, sdl) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	reg, err := registry.New(base, regConfig)
	if err != nil {
		return err
	}
	name, url := os.Getenv(envService), "http://"+ln.Addr().String()
	r, err := reg.Register(ctx, registry.Instance{Name: name, ID: fmt.Sprintf("%s-%d", name, os.Getpid()), URL: url,
		Metadata: map[string]string{"graphql": "/graphql", "sdl": "/graphql/sdl"}})
	if err != nil {
		return err
	}
	<-ctx.Done()
	return r.Close()
}

// suffix is a random suffix for the names of one test.
func suffix() string { return orm.NewUUID().String()[:8] }

// fixture is the state of one test: the registry, the DB and the children.
type fixture struct {
	t   testing.TB
	db  *orm.DB
	reg *registry.Registry
}

var syncOnce sync.Once

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env.Session(t) // creates the run's keyspace
	base, db, err := openDB(t.Context(), env.Hosts(), env.Keyspace())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(base.Close)
	reg, err := registry.New(base, regConfig)
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	syncOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if serr = reg.Sync(ctx); serr == nil {
			serr = db.Sync(tenant.With(ctx, "acme"), orm.MustModel[Customer](db), orm.MustModel[Item](db), orm.MustModel[Review](db))
		}
	})
	if serr != nil {
		t.Fatal(serr)
	}
	return &fixture{t: t, db: db, reg: reg}
}

// child is a subgraph process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs a subgraph child serving model as service, stopped at the end of
// the test.
func (f *fixture) start(model, service string, extraEnv ...string) *child {
	f.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envModel+"="+model, envService+"="+service, envKeyspace+"="+env.Keyspace())
	cmd.Env = append(cmd.Env, extraEnv...)
	return f.spawn(cmd)
}

// spawn starts cmd, its output in the test's, and stops it (SIGTERM) at the
// end of the test.
func (f *fixture) spawn(cmd *exec.Cmd) *child {
	f.t.Helper()
	cmd.Stdout, cmd.Stderr = f.t.Output(), f.t.Output()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	f.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-c.done
	})
	return c
}

// kill SIGKILLs the child and waits for it to exit.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// gateway runs a gateway over services until the end of the test and returns
// its URL once it serves a supergraph.
func (f *fixture) gateway(services []string, cfg gateway.Config) (*gateway.Gateway, string) {
	f.t.Helper()
	cfg.Registry, cfg.Services = f.reg, services
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	cfg.Poll = 200 * time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(f.t.Output(), nil))
	g, err := gateway.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Serve: %v", err)
		}
	})
	waitFor(f.t, 3*time.Minute, "the gateway serves a supergraph", func() (bool, string) {
		st := g.Status()
		return st.Ready, fmt.Sprintf("%+v", st)
	})
	return g, "http://" + ln.Addr().String()
}

// waitFor polls cond until it holds, failing the test with what it last said
// after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: last %s", timeout, what, last)
		}
		<-tick.C
	}
}

// hasSubgraphs reports whether the gateway's supergraph has exactly names.
func hasSubgraphs(g *gateway.Gateway, names ...string) func() (bool, string) {
	return func() (bool, string) {
		st := g.Status()
		got := slices.Sorted(slices.Values(st.Subgraphs))
		return st.Ready && slices.Equal(got, slices.Sorted(slices.Values(names))), fmt.Sprintf("%+v", st)
	}
}

// response is a decoded GraphQL response.
type response struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	Status int `json:"-"`
}

// post sends query to url with the headers (name, value pairs), failing the
// test on a transport error.
func post(t testing.TB, client *http.Client, url, query string, headers ...string) response {
	t.Helper()
	r, err := postErr(client, url, query, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// postErr is post for goroutines other than the test's: it returns the error.
func postErr(client *http.Client, url, query string, headers ...string) (response, error) {
	body, _ := json.Marshal(map[string]any{"query": query})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		return response{}, fmt.Errorf("POST %s: %s: not JSON: %w: %s", url, resp.Status, err, b)
	}
	r.Status = resp.StatusCode
	return r, nil
}

// field returns data[root][name] as a string ("" when absent or null).
func (r response) field(root, name string) string {
	m, _ := r.Data[root].(map[string]any)
	s, _ := m[name].(string)
	return s
}

// errorsText joins the messages and extensions of r's errors.
func (r response) errorsText() string {
	var b strings.Builder
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "%s %v; ", e.Message, e.Extensions)
	}
	return b.String()
}
