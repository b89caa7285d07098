package orm

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Consistency is a Cassandra consistency level.
type Consistency = gocql.Consistency

// Consistency levels.
const (
	One         = gocql.One
	LocalOne    = gocql.LocalOne
	Quorum      = gocql.Quorum
	LocalQuorum = gocql.LocalQuorum
	All         = gocql.All
	Serial      = gocql.Serial
	LocalSerial = gocql.LocalSerial
)

// Config says how Open connects.
type Config struct {
	// Hosts are contact points as host or host:port. Required.
	Hosts []string
	// Keyspace is the default keyspace for models that do not name their own. It need
	// not exist yet: create it with CreateKeyspace.
	Keyspace string
	// LocalDC makes routing prefer this data center (token-aware within it). Set it on
	// a multi-DC cluster together with LocalQuorum.
	LocalDC string
	// Consistency is the default consistency; zero means LocalQuorum.
	Consistency Consistency
	// Timeout bounds each request; zero means 10 seconds.
	Timeout time.Duration
	// Retries is how often an idempotent statement is retried after a timeout or an
	// unavailable replica, with exponential backoff: zero means 3, negative means
	// never. Lightweight transactions, counter increments and list appends are never
	// retried: they are not idempotent.
	Retries int
	// Username and Password, when set, authenticate with PasswordAuthenticator.
	Username, Password string
	// Observer, when set, sees every statement the ORM runs.
	Observer Observer
}

// DB is a handle on a Cassandra cluster: a driver session plus the ORM's settings.
// It is safe for concurrent use; create one per process and share it.
type DB struct {
	session  *gocql.Session
	keyspace string
	observer Observer
	owned    bool
}

// Open connects to the cluster described by cfg. The context bounds the connection
// attempt.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if len(cfg.Hosts) == 0 {
		return nil, fmt.Errorf("orm: open: Config.Hosts is empty")
	}
	if cfg.Keyspace != "" {
		if err := CheckIdent("keyspace", cfg.Keyspace); err != nil {
			return nil, fmt.Errorf("orm: open: %w", err)
		}
	}
	cc := gocql.NewCluster(cfg.Hosts...)
	cc.Consistency = cfg.Consistency
	if cc.Consistency == 0 {
		cc.Consistency = LocalQuorum
	}
	cc.Timeout = cfg.Timeout
	if cc.Timeout == 0 {
		cc.Timeout = 10 * time.Second
	}
	cc.ConnectTimeout = cc.Timeout
	if cfg.LocalDC != "" {
		cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(cfg.LocalDC))
	} else {
		cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	}
	switch {
	case cfg.Retries == 0:
		cc.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: 3, Min: 50 * time.Millisecond, Max: time.Second}
	case cfg.Retries > 0:
		cc.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: cfg.Retries, Min: 50 * time.Millisecond, Max: time.Second}
	}
	if cfg.Username != "" {
		cc.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	type result struct {
		s   *gocql.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := cc.CreateSession()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("orm: connecting to %s: %w", strings.Join(cfg.Hosts, ","), r.err)
		}
		return &DB{session: r.s, keyspace: cfg.Keyspace, observer: cfg.Observer, owned: true}, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, fmt.Errorf("orm: connecting to %s: %w", strings.Join(cfg.Hosts, ","), ctx.Err())
	}
}

// New wraps a session the caller made and keeps. keyspace is the default keyspace for
// models (it may be empty if every model names its own); obs may be nil.
//
// session may be nil too: such a DB only builds. Models made on it check their
// struct tags and types, and give their table (Model.Table), schema statements and
// query text (Query.CQL), access-path checks included, without a server; it must not
// run statements (Insert, Get, All, Sync, Exec...), which need a session.
func New(session *gocql.Session, keyspace string, obs Observer) (*DB, error) {
	if keyspace != "" {
		if err := CheckIdent("keyspace", keyspace); err != nil {
			return nil, err
		}
	}
	return &DB{session: session, keyspace: keyspace, observer: obs}, nil
}

// Close closes the session if Open made it.
func (db *DB) Close() {
	if db.owned {
		db.session.Close()
	}
}

// Session returns the driver session, for what the ORM does not cover.
func (db *DB) Session() *gocql.Session { return db.session }

// Keyspace returns the default keyspace.
func (db *DB) Keyspace() string { return db.keyspace }

// Replication is a keyspace replication strategy: SimpleStrategy for one data center
// in development, NetworkTopology for production.
type Replication struct {
	class string
	rf    map[string]int
}

// SimpleStrategy places rf replicas without regard to data centers. For development.
func SimpleStrategy(rf int) Replication {
	return Replication{class: "SimpleStrategy", rf: map[string]int{"replication_factor": rf}}
}

// NetworkTopology places the given number of replicas in each named data center.
func NetworkTopology(dcs map[string]int) Replication {
	return Replication{class: "NetworkTopologyStrategy", rf: dcs}
}

func (r Replication) cql() (string, error) {
	if r.class == "" || len(r.rf) == 0 {
		return "", fmt.Errorf("orm: replication: empty strategy")
	}
	parts := []string{"'class': '" + r.class + "'"}
	for _, k := range sortedKeys(r.rf) {
		if err := CheckIdent("data center", k); err != nil {
			return "", err
		}
		if r.rf[k] < 1 {
			return "", fmt.Errorf("orm: replication: %s=%d: want at least 1", k, r.rf[k])
		}
		parts = append(parts, "'"+k+"': "+strconv.Itoa(r.rf[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}", nil
}

// CreateKeyspace creates keyspace name if it does not exist and waits for schema
// agreement.
func (db *DB) CreateKeyspace(ctx context.Context, name string, r Replication) error {
	if err := CheckIdent("keyspace", name); err != nil {
		return err
	}
	rep, err := r.cql()
	if err != nil {
		return fmt.Errorf("create keyspace %s: %w", name, err)
	}
	return db.schemaExec(ctx, "CREATE KEYSPACE IF NOT EXISTS "+quote(name)+" WITH replication = "+rep)
}

// DropKeyspace drops keyspace name and everything in it, if it exists.
func (db *DB) DropKeyspace(ctx context.Context, name string) error {
	if err := CheckIdent("keyspace", name); err != nil {
		return err
	}
	return db.schemaExec(ctx, "DROP KEYSPACE IF EXISTS "+quote(name))
}

// schemaExec runs one schema statement the ORM built (fully qualified) and waits
// until all nodes agree on the schema.
func (db *DB) schemaExec(ctx context.Context, stmt string) error {
	return db.exec(ctx, "schema", stmt, "", nil, true, true)
}

// exec runs stmt (in keyspace ks, if set), reports it to the observer, and after a
// schema change waits for schema agreement. idempotent lets the driver retry it.
func (db *DB) exec(ctx context.Context, op, stmt, ks string, values []any, schema, idempotent bool) error {
	start := time.Now()
	q := db.session.Query(stmt, values...).Idempotent(idempotent)
	if ks != "" {
		q.SetKeyspace(ks)
	}
	err := q.ExecContext(ctx)
	db.observe(ctx, QueryEvent{Op: op, Statement: stmt, Latency: time.Since(start), Err: err})
	if err != nil {
		return fmt.Errorf("orm: %s: %w", firstWords(stmt, 6), err)
	}
	if schema {
		if err := db.session.AwaitSchemaAgreement(ctx); err != nil {
			return fmt.Errorf("orm: waiting for schema agreement after %s: %w", firstWords(stmt, 6), err)
		}
	}
	return nil
}
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

// ExecCQL runs a statement written by hand, such as a migration step, with its values
// bound to its markers, in the DB's keyspace (unqualified names resolve to it), and
// reports it to the observer. After a schema change (CREATE, ALTER, DROP) it waits
// until the nodes agree on the schema, and after CREATE INDEX until the keyspace's SAI
// indexes have finished building, so the next statement can use them. It is the one
// way to run CQL the ORM did not build; prefer models wherever they fit.
func (db *DB) ExecCQL(ctx context.Context, stmt string, values ...any) error {
	words := strings.Fields(strings.ToUpper(stmt))
	schema := len(words) > 0 && (words[0] == "CREATE" || words[0] == "ALTER" || words[0] == "DROP")
	if err := db.exec(ctx, "cql", stmt, db.keyspace, values, schema, false); err != nil {
		return err
	}
	if len(words) > 1 && words[0] == "CREATE" && (words[1] == "INDEX" || words[1] == "CUSTOM") && db.keyspace != "" {
		return db.awaitIndexes(ctx, db.keyspace)
	}
	return nil
}

// awaitIndexes waits until every SAI index of keyspace ks answers queries.
func (db *DB) awaitIndexes(ctx context.Context, ks string) error {
	for {
		building := ""
		iter := db.session.Query(`SELECT index_name, is_queryable FROM system_views.sai_column_indexes WHERE keyspace_name = ?`, ks).
			IterContext(ctx)
		var name string
		var ok bool
		for iter.Scan(&name, &ok) {
			if !ok {
				building = name
			}
		}
		if err := iter.Close(); err != nil {
			return fmt.Errorf("orm: waiting for the indexes of %s: %w", ks, err)
		}
		if building == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("orm: waiting for index %s.%s to build: %w", ks, building, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
