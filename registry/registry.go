package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Instance is one running copy of a service, as it registers itself.
type Instance struct {
	// Name is the service's name: 1 to 100 letters, digits, '.', '_' or '-',
	// starting with a letter or digit. Required.
	Name string
	// ID tells this instance from the service's others (a pod name, host:port): 1 to
	// 200 characters of the same kind as Name. Required.
	ID string
	// URL is where the instance serves: an absolute http or https URL with a host
	// and no user information, at most 2048 bytes. Required.
	URL string
	// Version is the version it runs (optional, at most 100 printable characters).
	Version string
	// Metadata are routing facts about the instance, such as {"graphql": "true"};
	// Config.MaxMetadataBytes bounds their size. Keys are not empty; keys and values
	// are valid UTF-8.
	Metadata map[string]string
	// HealthURL, when set, is checked by the registering process before each
	// heartbeat with a GET: a 2xx answer within Config.Health.Timeout is healthy,
	// anything else unhealthy. Same rules as URL. Empty: no check, and the instance
	// counts as healthy while it heartbeats.
	HealthURL string
}

// Entry is an instance as the registry lists it.
type Entry struct {
	Instance
	// Healthy is the result of the instance's last health check, written with its
	// last heartbeat (true when it has no HealthURL).
	Healthy bool
	// Problem says why the last check failed; empty when Healthy.
	Problem string
	// RegisteredAt is when the registration started, HeartbeatAt when its last
	// heartbeat was sent, on the registering process's clock (millisecond precision,
	// UTC).
	RegisteredAt, HeartbeatAt time.Time
}

// row is an instance's row: one partition per service, so Discover reads one
// partition. Metadata is frozen, one cell that each heartbeat overwrites, where a
// non-frozen map would leave a tombstone at every write.
type row struct {
	Service      string            `cql:"service" orm:"pk"`
	ID           string            `cql:"instance_id" orm:"ck"`
	URL          string            `cql:"url"`
	Version      string            `cql:"version"`
	Metadata     map[string]string `cql:"metadata" orm:"frozen"`
	HealthURL    string            `cql:"health_url"`
	Healthy      bool              `cql:"healthy"`
	Problem      string            `cql:"problem"`
	RegisteredAt time.Time         `cql:"registered_at"`
	HeartbeatAt  time.Time         `cql:"heartbeat_at"`
}

func (r *row) entry() Entry {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return Entry{
		Instance: Instance{Name: r.Service, ID: r.ID, URL: r.URL, Version: r.Version, Metadata: md, HealthURL: r.HealthURL},
		Healthy:  r.Healthy, Problem: r.Problem, RegisteredAt: r.RegisteredAt, HeartbeatAt: r.HeartbeatAt,
	}
}

// consistency is that of every read and write: LOCAL_QUORUM, so that on a cluster
// with a replication factor of 3 per data centre a Discover (a quorum read) always
// overlaps the quorum that took the last heartbeat or deregistration, whichever
// node coordinates each.
const consistency = orm.LocalQuorum

// ErrInvalid is matched (errors.Is) by the errors of input the registry refuses: a
// bad name, id, URL, version or metadata. Nothing is written then.
var ErrInvalid = errors.New("registry: invalid input")

// Registry registers instances and discovers them. It is safe for concurrent use.
type Registry struct {
	rows *orm.Model[row]
	cfg  Config
}

// New returns a Registry on db's keyspace, or the error of cfg.Validate. On a
// tenanted DB the registry is global: services are shared by every tenant.
func New(db *orm.DB, cfg Config) (*Registry, error) {
	if db == nil {
		return nil, errors.New("registry: New: nil DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	// A resurrected row (a replica that missed a deregistration past gc_grace) still
	// expires by its TTL, so the grace period need not be Cassandra's ten days: an
	// hour keeps the tombstones of departed instances out of reads.
	rows, err := orm.NewModel[row](db, orm.TableName(cfg.Table), orm.WithScope(orm.GlobalScope),
		orm.WithTableOptions(orm.TableOptions{GCGrace: time.Hour, Comment: "service registry (package registry)"}))
	if err != nil {
		return nil, fmt.Errorf("registry: table %s: %w", cfg.Table, err)
	}
	return &Registry{rows: rows, cfg: cfg}, nil
}

// Sync creates the instance table, or brings it up to date.
func (r *Registry) Sync(ctx context.Context) error {
	if err := r.rows.DB().Sync(ctx, r.rows); err != nil {
		return fmt.Errorf("registry: sync table %s: %w", r.cfg.Table, err)
	}
	return nil
}

// Config returns the registry's configuration, defaults filled in.
func (r *Registry) Config() Config { return r.cfg }

// Discover returns the healthy instances of service name, ordered by id: those
// whose row has not expired (heartbeats within Config.TTL) and whose last health
// check passed. It reads one partition at LOCAL_QUORUM and makes no network call to
// the instances.
func (r *Registry) Discover(ctx context.Context, name string) ([]Instance, error) {
	all, err := r.DiscoverAll(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, e := range all {
		if e.Healthy {
			out = append(out, e.Instance)
		}
	}
	return out, nil
}

// DiscoverAll returns every live instance of service name, healthy or not, with
// its last health status, ordered by id.
func (r *Registry) DiscoverAll(ctx context.Context, name string) ([]Entry, error) {
	if err := checkName("service name", name, 100); err != nil {
		return nil, err
	}
	var out []Entry
	for v, err := range r.rows.Query().Where(orm.Eq("service", name)).With(orm.WithConsistency(consistency)).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("registry: discover %s in table %s: %w", name, r.cfg.Table, err)
		}
		out = append(out, v.entry())
	}
	return out, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkName checks a service name or instance id (field, in messages) of at most
// maxLen bytes.
func checkName(field, v string, maxLen int) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	case len(v) > maxLen:
		return fmt.Errorf("%w: %s %.20q...: longer than %d bytes", ErrInvalid, field, v, maxLen)
	case !nameRE.MatchString(v):
		return fmt.Errorf("%w: %s %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, field, v)
	}
	return nil
}

// checkURL checks an instance's URL or health URL.
func checkURL(field, v string) error {
	if len(v) > 2048 {
		return fmt.Errorf("%w: Instance.%s %.40q...: longer than 2048 bytes", ErrInvalid, field, v)
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fmt.Errorf("%w: Instance.%s %q: %w", ErrInvalid, field, v, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: Instance.%s %q: want an absolute http or https URL", ErrInvalid, field, v)
	case u.Host == "":
		return fmt.Errorf("%w: Instance.%s %q: no host", ErrInvalid, field, v)
	case u.User != nil:
		return fmt.Errorf("%w: Instance.%s: user information in the URL (everyone who discovers the service would read it)", ErrInvalid, field)
	}
	return nil
}

// validate checks inst against the registry's rules.
func (r *Registry) validate(inst Instance) error {
	if err := checkName("Instance.Name", inst.Name, 100); err != nil {
		return err
	}
	if err := checkName("Instance.ID", inst.ID, 200); err != nil {
		return err
	}
	if err := checkURL("URL", inst.URL); err != nil {
		return err
	}
	if inst.HealthURL != "" {
		if err := checkURL("HealthURL", inst.HealthURL); err != nil {
			return err
		}
	}
	if len(inst.Version) > 100 {
		return fmt.Errorf("%w: Instance.Version %.20q...: longer than 100 bytes", ErrInvalid, inst.Version)
	}
	for _, c := range inst.Version {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("%w: Instance.Version %q: %q is not printable", ErrInvalid, inst.Version, c)
		}
	}
	size := 0
	for k, v := range inst.Metadata {
		switch {
		case k == "":
			return fmt.Errorf("%w: Instance.Metadata: empty key", ErrInvalid)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("%w: Instance.Metadata[%q]: not valid UTF-8", ErrInvalid, k)
		}
		size += len(k) + len(v)
	}
	if size > r.cfg.MaxMetadataBytes {
		return fmt.Errorf("%w: Instance.Metadata of %s/%s: %d bytes, above Config.MaxMetadataBytes (%d)",
			ErrInvalid, inst.Name, inst.ID, size, r.cfg.MaxMetadataBytes)
	}
	return nil
}

// clone returns inst with a copy of its metadata, never nil.
func clone(inst Instance) Instance {
	md := maps.Clone(inst.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	inst.Metadata = md
	return inst
}
