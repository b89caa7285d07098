package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// startHint is how to start every server tests need (make up starts Kafka
// too, so one command serves all three).
const startHint = `start it with "make up" (go run ./cmd/cassandraorm dev up --with kafka)`

// unreachable is the error of a server that does not answer.
func unreachable(service string, addrs []string, cause error) error {
	return fmt.Errorf("%s at %s does not answer (%v): %s", service, strings.Join(addrs, ","), cause, startHint)
}

// checkTimeout bounds each reachability check; a slow 2-core box answers
// well within it.
const checkTimeout = 10 * time.Second

// cluster is the driver configuration every session of this package uses.
func cluster(hosts []string, keyspace string) *gocql.ClusterConfig {
	c := gocql.NewCluster(hosts...)
	c.Keyspace = keyspace
	c.ProtoVersion = 5
	c.Consistency = gocql.LocalQuorum
	// A schema change on a busy two-core node can take well over 10 s to answer:
	// tests wait for it rather than fail on a statement that is merely slow.
	c.Timeout = 30 * time.Second
	c.ConnectTimeout = 10 * time.Second
	return c
}

// connectCassandra opens a session on hosts (not bound to a keyspace when
// keyspace is empty), or returns an error naming the start command.
func connectCassandra(hosts []string, keyspace string) (*gocql.Session, error) {
	s, err := cluster(hosts, keyspace).CreateSession()
	if err != nil {
		return nil, unreachable("cassandra", hosts, err)
	}
	return s, nil
}

// checkRedis pings Redis at addr.
func checkRedis(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := devenv.PingRedis(ctx, addr); err != nil {
		return unreachable("redis", []string{addr}, err)
	}
	return nil
}

// checkKafka asks the brokers for metadata.
func checkKafka(ctx context.Context, brokers []string) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := devenv.PingKafka(ctx, brokers); err != nil {
		return unreachable("kafka", brokers, err)
	}
	return nil
}
