package orm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Config says how Open connects. The zero values of its optional fields take the
// defaults documented on each.
type Config struct {
	// Hosts are contact points as host or host:port. Required.
	Hosts []string
	// Keyspace is the default keyspace for models that do not name their own, and the
	// session's keyspace: unqualified names in ExecCQL (and in statements run on
	// Session) resolve to it. It need not exist yet: create it with CreateKeyspace; the
	// ORM names it on every statement, so that works the same.
	Keyspace string
	// LocalDC makes routing prefer this data center (token-aware within it). Set it on
	// a multi-DC cluster together with LocalQuorum.
	LocalDC string
	// Consistency is the default consistency. Default LocalQuorum.
	Consistency Consistency
	// Timeout bounds each request and each connection attempt. Default 10 seconds;
	// negative is invalid.
	Timeout time.Duration
	// SchemaTimeout bounds each schema change (CREATE, ALTER, DROP, from Sync,
	// CreateKeyspace or ExecCQL). A busy node can take longer over one than over any
	// read or write, and a schema change that times out has an unknown outcome, so
	// these run on a second session, opened on the first schema change, whose request
	// timeout is this. Default 60 seconds; negative is invalid; no more than Timeout
	// means the one session serves for both.
	SchemaTimeout time.Duration
	// Retries is how often an idempotent statement is retried after a timeout or an
	// unavailable replica, with exponential backoff from 50ms to 1s: zero means 3,
	// negative means never. Lightweight transactions, counter increments and list
	// appends are never retried: they are not idempotent.
	Retries int
	// Username and Password, when set, authenticate with PasswordAuthenticator.
	Username, Password string
	// Observer, when set, sees every statement the ORM runs.
	Observer Observer
	// CursorKey authenticates the page cursors of Query.Page (at least
	// MinCursorKeyLen bytes). Nil means a random key made once per process: cursors
	// then work only in the process that made them, and not after a restart. Give
	// every process that serves one API the same secret key so a cursor made by one
	// is taken by another.
	CursorKey []byte
}

// DBOption configures a DB made by New.
type DBOption func(*DB)

// WithCursorKey sets the key that authenticates page cursors, as Config.CursorKey
// does for Open.
func WithCursorKey(key []byte) DBOption {
	return func(db *DB) { db.cursorKey = key }
}

func (c *Config) setDefaults() {
	if c.Consistency == 0 {
		c.Consistency = LocalQuorum
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.SchemaTimeout == 0 {
		c.SchemaTimeout = time.Minute
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
}

// Validate reports a Config that Open cannot use: no hosts, an empty host, a keyspace
// or data center that is not a plain identifier, an unknown consistency level, a
// negative timeout, or a password without a username.
func (c Config) Validate() error {
	if len(c.Hosts) == 0 {
		return errors.New("orm: Config.Hosts is empty")
	}
	for i, h := range c.Hosts {
		if strings.TrimSpace(h) == "" {
			return fmt.Errorf("orm: Config.Hosts[%d] is empty", i)
		}
	}
	if c.Keyspace != "" {
		if err := CheckIdent("keyspace", c.Keyspace); err != nil {
			return fmt.Errorf("orm: Config.Keyspace: %w", err)
		}
	}
	if c.LocalDC != "" && strings.ContainsAny(c.LocalDC, "'\"\x00") {
		return fmt.Errorf("%w: Config.LocalDC %q", ErrInvalidIdentifier, c.LocalDC)
	}
	if err := c.Consistency.Validate(); err != nil {
		return fmt.Errorf("orm: Config.Consistency: %w", err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("orm: Config.Timeout %s is negative", c.Timeout)
	}
	if c.SchemaTimeout < 0 {
		return fmt.Errorf("orm: Config.SchemaTimeout %s is negative", c.SchemaTimeout)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("orm: Config.Password is set without Config.Username")
	}
	if err := checkCursorKey(c.CursorKey); err != nil {
		return fmt.Errorf("orm: Config.CursorKey: %w", err)
	}
	return nil
}

// DB is a handle on a Cassandra cluster: a driver session plus the ORM's settings.
// It is safe for concurrent use; create one per process and share it.
type DB struct {
	session  *gocql.Session
	keyspace string
	observer Observer
	owned    bool
	schema   *schemaSession // runs schema changes; nil: session does

	cursorKey []byte // authenticates page cursors; nil: processCursorKey

	tenancy *tenancyState // set on the views WithTenancy makes
}

// Open validates cfg (after setting its defaults) and connects to the cluster it
// describes. The context bounds the connection attempt. When cfg.Keyspace exists it
// becomes the session's keyspace; when it does not exist yet, the session has none
// until the DB is opened again, and the ORM still names it on every statement.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("orm: open: %w", err)
	}
	hosts := strings.Join(cfg.Hosts, ",")
	s, err := connect(ctx, cfg.cluster(cfg.Keyspace))
	if err == nil || cfg.Keyspace == "" {
		if err != nil {
			return nil, fmt.Errorf("orm: connecting to %s: %w", hosts, classify(err))
		}
		return opened(s, cfg), nil
	}
	// The driver does not say why no connection took the keyspace: connect without
	// it, and go on so only if the keyspace is still to be created.
	first := err
	if s, err = connect(ctx, cfg.cluster("")); err != nil {
		return nil, fmt.Errorf("orm: connecting to %s: %w", hosts, classify(err))
	}
	db := opened(s, cfg)
	exists, err := db.KeyspaceExists(ctx, cfg.Keyspace)
	switch {
	case err != nil:
		s.Close()
		return nil, fmt.Errorf("orm: open: %w", err)
	case exists:
		s.Close()
		return nil, fmt.Errorf("orm: connecting to %s in keyspace %s: %w", hosts, cfg.Keyspace, classify(first))
	}
	return db, nil
}

// opened returns the DB Open makes on session s for cfg.
func opened(s *gocql.Session, cfg Config) *DB {
	db := &DB{session: s, keyspace: cfg.Keyspace, observer: cfg.Observer, owned: true, cursorKey: cfg.CursorKey}
	if cfg.SchemaTimeout > cfg.Timeout {
		cc := cfg.cluster("")
		cc.Timeout = cfg.SchemaTimeout
		db.schema = &schemaSession{cc: cc}
	}
	return db
}

// schemaSession is the second session of a DB opened with a SchemaTimeout longer
// than its Timeout, connected on the first schema change.
type schemaSession struct {
	cc *gocql.ClusterConfig

	mu     sync.Mutex
	s      *gocql.Session
	closed bool
}

// get returns the session, connecting it if this is the first call (or the first
// since a failed attempt).
func (ss *schemaSession) get(ctx context.Context) (*gocql.Session, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, ErrClosed
	}
	if ss.s == nil {
		s, err := connect(ctx, ss.cc)
		if err != nil {
			return nil, fmt.Errorf("connecting the schema session to %s: %w", strings.Join(ss.cc.Hosts, ","), classify(err))
		}
		ss.s = s
	}
	return ss.s, nil
}

func (ss *schemaSession) close() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	if ss.s != nil {
		ss.s.Close()
	}
}

// sessionFor returns the session that runs a statement: the schema session for a
// schema change, if db has one.
func (db *DB) sessionFor(ctx context.Context, schema bool) (*gocql.Session, error) {
	if !schema || db.schema == nil {
		return db.session, nil
	}
	return db.schema.get(ctx)
}

// cluster returns the driver's configuration for cfg, with session keyspace ks.
func (cfg *Config) cluster(ks string) *gocql.ClusterConfig {
	cc := gocql.NewCluster(cfg.Hosts...)
	cc.Keyspace = ks
	cc.Consistency = cfg.Consistency.driver()
	cc.Timeout = cfg.Timeout
	cc.ConnectTimeout = cfg.Timeout
	if cfg.LocalDC != "" {
		cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.DCAwareRoundRobinPolicy(cfg.LocalDC))
	} else {
		cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	}
	if cfg.Retries > 0 {
		cc.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: cfg.Retries, Min: 50 * time.Millisecond, Max: time.Second}
	}
	if cfg.Username != "" {
		cc.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	return cc
}

// connect creates a session from cc, giving up when ctx ends (and closing the session
// if it arrives later).
func connect(ctx context.Context, cc *gocql.ClusterConfig) (*gocql.Session, error) {
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
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// New wraps a session the caller made and keeps. keyspace is the default keyspace for
// models (it may be empty if every model names its own); it must be a plain
// identifier, and the session's own keyspace, if it has one, must be the same, so that
// unqualified statements land where models do. obs may be nil; session may not (see
// Detached for a DB with none).
func New(session *gocql.Session, keyspace string, obs Observer, opts ...DBOption) (*DB, error) {
	if session == nil {
		return nil, fmt.Errorf("%w: orm.New: nil session (orm.Detached makes a DB that only builds)", ErrInvalidValue)
	}
	if keyspace != "" {
		if err := CheckIdent("keyspace", keyspace); err != nil {
			return nil, fmt.Errorf("orm: New: %w", err)
		}
	}
	if own := sessionKeyspace(session); own != "" && keyspace != "" && own != keyspace {
		return nil, fmt.Errorf("%w: orm.New: keyspace %s differs from the session's keyspace %s", ErrInvalidValue, keyspace, own)
	}
	db := &DB{session: session, keyspace: keyspace, observer: obs}
	for _, o := range opts {
		o(db)
	}
	if err := checkCursorKey(db.cursorKey); err != nil {
		return nil, fmt.Errorf("orm: New: %w", err)
	}
	return db, nil
}

// Detached returns a DB with no session, which only builds: models made on it check
// their struct tags and types and give their table (Model.Table), schema statements
// and query text (Query.CQL), access-path checks included, without a server. Every
// call that would run a statement returns an error wrapping ErrDetached.
func Detached(keyspace string, opts ...DBOption) (*DB, error) {
	if keyspace != "" {
		if err := CheckIdent("keyspace", keyspace); err != nil {
			return nil, fmt.Errorf("orm: Detached: %w", err)
		}
	}
	db := &DB{keyspace: keyspace}
	for _, o := range opts {
		o(db)
	}
	if err := checkCursorKey(db.cursorKey); err != nil {
		return nil, fmt.Errorf("orm: Detached: %w", err)
	}
	return db, nil
}

// live returns an error wrapping ErrDetached if db has no session to run on.
func (db *DB) live() error {
	if db.session == nil {
		return fmt.Errorf("%w: keyspace %s", ErrDetached, db.keyspace)
	}
	return nil
}

// sessionKeyspace returns the keyspace session s was made with.
func sessionKeyspace(s *gocql.Session) string { return s.Query("").Keyspace() }

// Close closes the session if Open made it.
func (db *DB) Close() {
	if db.owned {
		if db.schema != nil {
			db.schema.close()
		}
		db.session.Close()
	}
}

// Session returns the driver session: the escape hatch for what the ORM does not
// cover, as database/sql's DB.Driver is. Statements run on it bypass the ORM's
// observer, error classification (ErrUncertain, ErrUnavailable) and identifier checks;
// prefer models, ExecCQL and the inspection methods (KeyspaceExists, Tables, Columns).
// Nothing in this module outside package orm uses it, apart from test harnesses.
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
	if err := db.live(); err != nil {
		return fmt.Errorf("orm: %s: %w", firstWords(stmt, 6), err)
	}
	session, err := db.sessionFor(ctx, schema)
	if err != nil {
		return fmt.Errorf("orm: %s: %w", firstWords(stmt, 6), err)
	}
	start := time.Now()
	q := session.Query(stmt, values...).Idempotent(idempotent)
	if ks != "" {
		q.SetKeyspace(ks)
	}
	err = q.ExecContext(ctx)
	db.observe(ctx, QueryEvent{Op: op, Statement: stmt, Latency: time.Since(start), Err: err})
	if err != nil {
		return fmt.Errorf("orm: %s: %w", firstWords(stmt, 6), outcome(err))
	}
	if schema {
		if err := session.AwaitSchemaAgreement(ctx); err != nil {
			// The statement applied; only the wait for the other nodes failed.
			return fmt.Errorf("orm: waiting for schema agreement after %s: %w", firstWords(stmt, 6), classify(err))
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
// bound to its markers, in the keyspace KeyspaceFor(ctx) returns (unqualified names
// resolve to it: on a tenanted DB, the own keyspace of ctx's tenant, if it has one),
// and reports it to the observer. After a schema change (CREATE, ALTER, DROP) it waits
// until the nodes agree on the schema, and after CREATE INDEX until the keyspace's SAI
// indexes have finished building, so the next statement can use them. It is the one
// way to run CQL the ORM did not build; prefer models wherever they fit.
func (db *DB) ExecCQL(ctx context.Context, stmt string, values ...any) error {
	words := strings.Fields(strings.ToUpper(stmt))
	schema := len(words) > 0 && (words[0] == "CREATE" || words[0] == "ALTER" || words[0] == "DROP")
	ks, err := db.KeyspaceFor(ctx)
	if err != nil {
		return err
	}
	if err := db.exec(ctx, "cql", stmt, ks, values, schema, false); err != nil {
		return err
	}
	if len(words) > 1 && words[0] == "CREATE" && (words[1] == "INDEX" || words[1] == "CUSTOM") && ks != "" {
		return db.awaitIndexes(ctx, ks)
	}
	return nil
}

// awaitIndexes waits until every SAI index of keyspace ks answers queries.
func (db *DB) awaitIndexes(ctx context.Context, ks string) error {
	if err := db.live(); err != nil {
		return err
	}
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
			return fmt.Errorf("orm: waiting for the indexes of %s: %w", ks, classify(err))
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
