package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
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
func (e *Env) Main(m *testing.M) {
	code := m.Run()
	if err := e.close(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// close drops the keyspace (if created) and closes the clients.
func (e *Env) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	if e.ksCreated {
		s := e.session
		if s == nil {
			s, err = connectCassandra(e.hosts, "")
		}
		if err == nil {
			err = s.Query("DROP KEYSPACE IF EXISTS " + e.keyspace).Exec()
			if s != e.session {
				s.Close()
			}
		}
		if err != nil {
			err = fmt.Errorf("drop keyspace %s: %w", e.keyspace, err)
		}
	}
	if e.session != nil {
		e.session.Close()
	}
	if e.redis != nil {
		_ = e.redis.Close()
	}
	return err
}

// Hosts are the Cassandra contact points: CASSANDRA_HOSTS, a comma
// separated list, by default 127.0.0.1:9042.
func (e *Env) Hosts() []string { return append([]string(nil), e.hosts...) }

// Keyspace is the test package's keyspace.
func (e *Env) Keyspace() string { return e.keyspace }

// ClusterConfig creates the keyspace on first use (SimpleStrategy,
// replication factor 1) and returns a new driver configuration bound to
// it: protocol v5, LOCAL_QUORUM, 10 s timeouts. The caller owns the
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
	defer s.Close()
	err = s.Query("CREATE KEYSPACE IF NOT EXISTS " + e.keyspace +
		" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").Exec()
	if err != nil {
		return fmt.Errorf("create keyspace %s: %w", e.keyspace, err)
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
