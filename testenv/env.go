package testenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Env is the test environment of one test package: its keyspace and the
// shared clients to the servers. Its methods are safe for concurrent use
// by parallel tests.
type Env struct {
	keyspace  string
	hosts     []string
	redisAddr string
	brokers   []string

	mu        sync.Mutex
	ksCreated bool // the keyspace exists because this Env created it
	session   *gocql.Session
	redis     *redis.Client
	kafkaOK   bool
}

var validKeyspace = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// New returns the environment of a test package that keeps its tables in a
// keyspace named after name with a random suffix (name_3f9a1c), so two runs
// of one package against one cluster, by two people or two processes, never
// share or drop each other's tables. It reads CASSANDRA_HOSTS, REDIS_ADDR
// and KAFKA_BROKERS; it connects to nothing until a test asks. It panics if
// name is not a valid unquoted Cassandra name of at most 41 characters.
func New(name string) *Env {
	if !validKeyspace.MatchString(name) {
		panic(fmt.Sprintf("testenv.New: %q is not a keyspace name (want [a-z][a-z0-9_]{0,40})", name))
	}
	var suffix [3]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		panic(fmt.Sprintf("testenv.New: %v", err))
	}
	return &Env{
		keyspace:  fmt.Sprintf("%s_%x", name, suffix),
		hosts:     list(os.Getenv("CASSANDRA_HOSTS"), devenv.CassandraAddr),
		redisAddr: first(os.Getenv("REDIS_ADDR"), devenv.RedisAddr),
		brokers:   list(os.Getenv("KAFKA_BROKERS"), devenv.KafkaAddr),
	}
}

func list(v, def string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return []string{def}
	}
	return out
}

func first(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

// Main runs the tests, then drops the keyspace if this Env created it,
// closes the shared clients and exits with the tests' code. Call it from
// TestMain.
//
// Cleanup never turns a passing run red: the drop is retried patiently
// (see patientDrop), and if it still fails Main prints a warning naming
// the keyspace and exits with the tests' code all the same. A keyspace
// left behind is harmless: its random suffix keeps it out of every later
// run's way.
func (e *Env) Main(m *testing.M) {
	os.Exit(e.finish(m.Run(), os.Stderr, patientDrop()))
}

// finish cleans up after the tests and returns their exit code unchanged,
// writing a warning to w when the keyspace could not be dropped.
func (e *Env) finish(code int, w io.Writer, p dropPolicy) int {
	if err := e.close(w, p); err != nil {
		fmt.Fprintf(w, "testenv: warning: %v; keyspace %s is left behind (harmless; drop it by hand with DROP KEYSPACE %s)\n",
			err, e.keyspace, e.keyspace)
	}
	return code
}

// dropPolicy says how patiently the keyspace is created and dropped.
type dropPolicy struct {
	// timeouts bounds each attempt in turn (connecting, the drop and the
	// wait for schema agreement); there are len(timeouts) attempts.
	timeouts []time.Duration
	// backoff is the least pause before the second attempt (with jitter, up
	// to twice as long: retry.Backoff), doubled before each later one.
	backoff time.Duration
}

// patientDrop is the policy of Main's drop, and of the keyspace's creation.
// A DROP KEYSPACE has been seen to take longer than the sessions' 10 s
// request timeout on a busy 2-core node, so each attempt gets far more, and
// the statement (idempotent thanks to IF EXISTS) is sent again after a
// failure. The worst case is a little over three minutes.
func patientDrop() dropPolicy {
	return dropPolicy{timeouts: []time.Duration{30 * time.Second, time.Minute, 90 * time.Second}, backoff: 2 * time.Second}
}

// close drops the keyspace (if created) following p, reporting each failed
// attempt to w, and closes the clients.
func (e *Env) close(w io.Writer, p dropPolicy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != nil {
		e.session.Close()
	}
	if e.redis != nil {
		_ = e.redis.Close()
	}
	if !e.ksCreated {
		return nil
	}
	var errs []error
	for _, ks := range e.extraKeyspaces() {
		if err := patiently(e.hosts, "drop keyspace "+ks, "DROP KEYSPACE IF EXISTS "+ks, w, p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := patiently(e.hosts, "drop keyspace "+e.keyspace, "DROP KEYSPACE IF EXISTS "+e.keyspace, w, p); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// extraKeyspaces lists the keyspaces the tests made beside the package's own, named
// with KeyspacePrefix (a tenant's keyspace, say). A failure to list them leaves them
// behind, which is harmless.
func (e *Env) extraKeyspaces() []string {
	s, err := connectCassandra(e.hosts, "")
	if err != nil {
		return nil
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.Query("SELECT keyspace_name FROM system_schema.keyspaces").IterContext(ctx)
	var out []string
	var name string
	for it.Scan(&name) {
		if strings.HasPrefix(name, e.KeyspacePrefix()) {
			out = append(out, name)
		}
	}
	_ = it.Close()
	return out
}

// KeyspacePrefix is the prefix of the other keyspaces a test package may create
// (Keyspace() + "_"); Main drops them with the package's keyspace.
func (e *Env) KeyspacePrefix() string { return e.keyspace + "_" }

// patiently runs the idempotent schema statement stmt (what, in messages)
// until it succeeds and the schema agrees, at most len(p.timeouts) times, each
// on a new session whose request timeout is that attempt's, reporting each
// failed attempt to w.
func patiently(hosts []string, what, stmt string, w io.Writer, p dropPolicy) error {
	var last error
	n := 0
	policy := retry.Policy{If: func(error) bool { return true }, MaxAttempts: len(p.timeouts),
		Backoff: retry.Backoff{Initial: 2 * p.backoff, Max: 2 * p.backoff << len(p.timeouts)}}
	err := retry.Do(context.Background(), policy, func(_ context.Context, attempt int) error {
		if attempt > 1 {
			fmt.Fprintf(w, "testenv: %s, attempt %d of %d: %v; retrying\n", what, attempt-1, len(p.timeouts), last)
		}
		n = attempt
		last = schemaOnce(hosts, stmt, p.timeouts[attempt-1])
		return last
	})
	if err != nil {
		return fmt.Errorf("%s failed %d times, last: %w", what, n, last)
	}
	return nil
}

// schemaOnce makes one attempt of patiently, all of it within timeout.
func schemaOnce(hosts []string, stmt string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := cluster(hosts, "")
	c.Timeout, c.ConnectTimeout = timeout, timeout
	s, err := c.CreateSession()
	if err != nil {
		return unreachable("cassandra", hosts, err)
	}
	defer s.Close()
	if err := s.Query(stmt).ExecContext(ctx); err != nil {
		return err
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("schema agreement: %w", err)
	}
	return nil
}

// Hosts are the Cassandra contact points: CASSANDRA_HOSTS, a comma
// separated list, by default 127.0.0.1:9042.
func (e *Env) Hosts() []string { return append([]string(nil), e.hosts...) }

// Keyspace is the test package's keyspace.
func (e *Env) Keyspace() string { return e.keyspace }

// ClusterConfig creates the keyspace on first use (SimpleStrategy,
// replication factor 1) and returns a new driver configuration bound to
// it: protocol v5, LOCAL_QUORUM, a 30 s request timeout (10 s to connect). The caller owns the
// sessions it creates from it. It fails t if Cassandra does not answer.
func (e *Env) ClusterConfig(t testing.TB) *gocql.ClusterConfig {
	t.Helper()
	if err := e.ensureKeyspace(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return cluster(e.hosts, e.keyspace)
}

func (e *Env) ensureKeyspace() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ksCreated {
		return nil
	}
	s, err := connectCassandra(e.hosts, "")
	if err != nil {
		return err
	}
	s.Close()
	// The node answers; a busy one may still be slow to create a keyspace, and
	// CREATE KEYSPACE IF NOT EXISTS is safe to send again.
	err = patiently(e.hosts, "create keyspace "+e.keyspace, "CREATE KEYSPACE IF NOT EXISTS "+e.keyspace+
		" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", os.Stderr, patientDrop())
	if err != nil {
		return err
	}
	e.ksCreated = true
	return nil
}

// Session returns the package's shared session on its keyspace, created
// on first use; Main closes it. Tests must not close it.
func (e *Env) Session(t testing.TB) *gocql.Session {
	t.Helper()
	cfg := e.ClusterConfig(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == nil {
		s, err := cfg.CreateSession()
		if err != nil {
			t.Fatalf("testenv: %v", unreachable("cassandra", e.hosts, err))
		}
		e.session = s
	}
	return e.session
}

// Redis returns the package's shared Redis client (REDIS_ADDR, by default
// 127.0.0.1:6379), pinged on first use; Main closes it.
func (e *Env) Redis(t testing.TB) *redis.Client {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.redis == nil {
		if err := checkRedis(context.Background(), e.redisAddr); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		e.redis = redis.NewClient(&redis.Options{Addr: e.redisAddr})
	}
	return e.redis
}

// KafkaBrokers returns the Kafka seed brokers (KAFKA_BROKERS, a comma
// separated list, by default 127.0.0.1:9092) after checking, once, that
// they answer.
func (e *Env) KafkaBrokers(t testing.TB) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.kafkaOK {
		if err := checkKafka(context.Background(), e.brokers); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		e.kafkaOK = true
	}
	return append([]string(nil), e.brokers...)
}
