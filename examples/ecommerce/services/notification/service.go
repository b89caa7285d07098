package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Config configures a Service. Zero fields take the defaults documented on each.
type Config struct {
	// Channels are the ways of delivering. Required: at least one, each with a
	// name of its own.
	Channels []Channel
	// Routes maps a kind of notification to the names of the channels it goes
	// on. A kind it does not name goes on every channel (each channel's Target
	// still decides). Default: none, so every kind goes on every channel.
	Routes map[string][]string
	// MaxAttempts is the most attempts of one delivery, the first included; after
	// the last failed one the delivery is dead. Default 5.
	MaxAttempts int
	// Backoff spaces the attempts of a delivery. Default 1 s doubling up to 5 min,
	// with jitter.
	Backoff retry.Backoff
	// Timeout bounds one attempt. Default 30 s.
	Timeout time.Duration
	// Lease is how long a worker's claim on a delivery lasts: a worker that dies
	// mid-delivery holds it that long, then another may send it again. It must
	// exceed Timeout. Default Timeout + 30 s.
	Lease time.Duration
	// Poll is how often a worker looks for due deliveries. Default 1 s.
	Poll time.Duration
	// Bucket is the span of one partition of the due index. Default 1 h.
	Bucket time.Duration
	// Lookback is how far back a worker reads the due index: a delivery due
	// longer ago than that (all workers stopped meanwhile) is not found again.
	// Each poll reads Lookback/Bucket+1 partitions. Default 24 h.
	Lookback time.Duration
	// DueTable is the table of the due index, which the tenants share: two
	// services with other channels on one keyspace each need one of their own, or
	// the workers of one would make the deliveries of the other. Default
	// "notification_due".
	DueTable string
	// Log receives the worker's warnings. Default: discarded.
	Log *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff == (retry.Backoff{}) {
		c.Backoff = retry.Backoff{Initial: time.Second, Max: 5 * time.Minute}
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Lease == 0 {
		c.Lease = c.Timeout + 30*time.Second
	}
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.Bucket == 0 {
		c.Bucket = time.Hour
	}
	if c.Lookback == 0 {
		c.Lookback = 24 * time.Hour
	}
	if c.DueTable == "" {
		c.DueTable = "notification_due"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a Config the service cannot run with: no channel, two
// channels of one name, a route to a channel it does not have, a negative
// count or duration, a Lease not above Timeout, an invalid Backoff, a Bucket
// under a millisecond.
func (c Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	if len(c.Channels) == 0 {
		errs = append(errs, errors.New("notification: no Channels"))
	}
	for i, ch := range c.Channels {
		switch {
		case ch == nil:
			errs = append(errs, fmt.Errorf("notification: Channels[%d] is nil", i))
		case ch.Name() == "" || names[ch.Name()]:
			errs = append(errs, fmt.Errorf("notification: Channels[%d]: name %q empty or used twice", i, ch.Name()))
		default:
			names[ch.Name()] = true
		}
	}
	for kind, chs := range c.Routes {
		for _, name := range chs {
			if !names[name] {
				errs = append(errs, fmt.Errorf("notification: Routes[%q]: no channel %q", kind, name))
			}
		}
	}
	if c.MaxAttempts < 0 || c.Timeout < 0 || c.Lease < 0 || c.Poll < 0 || c.Lookback < 0 {
		errs = append(errs, errors.New("notification: negative MaxAttempts, Timeout, Lease, Poll or Lookback"))
	}
	if c.Lease <= c.Timeout {
		errs = append(errs, fmt.Errorf("notification: Lease %s must exceed Timeout %s", c.Lease, c.Timeout))
	}
	if c.Bucket < time.Millisecond {
		errs = append(errs, fmt.Errorf("notification: Bucket %s under a millisecond", c.Bucket))
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("notification: Backoff: %w", err))
	}
	return errors.Join(errs...)
}

// Service is the notification service: a durable log of notifications and of
// their deliveries, and the workers that make them. It is safe for concurrent
// use.
type Service struct {
	cfg        Config
	db         *orm.DB
	channels   map[string]Channel
	notes      *orm.Model[Notification]
	deliveries *orm.Model[Delivery]
	byUser     *orm.Model[userRow]
	due        *orm.Model[dueRow]
}

// New builds the service on db (plain or tenanted), or returns cfg's Validate
// error. Its tables are tenant-scoped, but for the due index, which every
// tenant shares. Call Sync before serving.
func New(db *orm.DB, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, db: db, channels: map[string]Channel{}}
	for _, ch := range cfg.Channels {
		s.channels[ch.Name()] = ch
	}
	var err error
	if s.notes, err = orm.NewModel[Notification](db, orm.TableName("notification_log")); err != nil {
		return nil, err
	}
	if s.deliveries, err = orm.NewModel[Delivery](db, orm.TableName("notification_deliveries")); err != nil {
		return nil, err
	}
	if s.byUser, err = orm.NewModel[userRow](db, orm.TableName("notification_by_user")); err != nil {
		return nil, err
	}
	if s.due, err = orm.NewModel[dueRow](db, orm.TableName(cfg.DueTable), orm.WithScope(orm.GlobalScope),
		orm.WithTableOptions(orm.TableOptions{Comment: "notification deliveries by due time: one partition per time bucket"})); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync creates the service's tables: once for the shared tables (ctx without a
// tenant), and once for each tenant with a keyspace of its own.
func (s *Service) Sync(ctx context.Context) error {
	return s.db.Sync(ctx, s.notes, s.deliveries, s.byUser, s.due)
}

// Notify records n for the tenant of ctx, once by its id, and schedules its
// delivery on each channel its kind is routed to whose Target is not empty. It
// reports whether n is new: a second call with the id of a recorded
// notification is a duplicate and changes nothing (but for scheduling what the
// first call may have left unscheduled), and returns the recorded one. The id
// was used for another user or kind: ErrConflict. Notify returns once every
// delivery is scheduled; after an error, call it again with the same n.
func (s *Service) Notify(ctx context.Context, n Notification) (Record, bool, error) {
	if err := n.Validate(); err != nil {
		return Record{}, false, err
	}
	n.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	created := true
	err := s.notes.InsertIfNotExists(ctx, &n)
	if ce, ok := errors.AsType[*orm.ConflictError](err); ok {
		cur, _ := ce.Current.(*Notification)
		if cur == nil {
			if cur, err = s.notePtr(ctx, n.ID); err != nil {
				return Record{}, false, err
			}
		}
		if cur.UserID != n.UserID || cur.Kind != n.Kind {
			return Record{}, false, fmt.Errorf("notification %q (user %q, kind %q): %w", n.ID, cur.UserID, cur.Kind, ErrConflict)
		}
		n, created, err = *cur, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("notification %q: recording: %w", n.ID, err)
	}
	if n.UserID != "" {
		if err := s.byUser.Insert(ctx, &userRow{UserID: n.UserID, CreatedAt: n.CreatedAt, ID: n.ID}); err != nil {
			return Record{}, false, fmt.Errorf("notification %q: user index: %w", n.ID, err)
		}
	}
	if err := s.schedule(ctx, n); err != nil {
		return Record{}, false, err
	}
	r, err := s.Get(ctx, n.ID)
	return r, created, err
}

func (s *Service) notePtr(ctx context.Context, id string) (*Notification, error) {
	n, err := s.notes.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("notification %q: %w", id, err)
	}
	return &n, nil
}

// schedule makes n's deliveries, each once, and files each pending one in the
// due index (again, for those a call before may have left unfiled: the due row
// of a delivery has a key of its own, so filing twice is one row).
func (s *Service) schedule(ctx context.Context, n Notification) error {
	tenantID := tenantOf(ctx)
	for _, ch := range s.route(n.Kind) {
		target := ch.Target(n)
		if target == "" {
			continue
		}
		d := Delivery{NotificationID: n.ID, Channel: ch.Name(), Target: target, State: StatePending,
			NextAttemptAt: n.CreatedAt, DueMS: n.CreatedAt.UnixMilli()}
		err := s.deliveries.InsertIfNotExists(ctx, &d)
		if ce, ok := errors.AsType[*orm.ConflictError](err); ok {
			if cur, _ := ce.Current.(*Delivery); cur != nil {
				d, err = *cur, nil
			}
		}
		if err != nil {
			return fmt.Errorf("notification %q: delivery %s: %w", n.ID, ch.Name(), err)
		}
		if d.State != StatePending {
			continue
		}
		if err := s.file(ctx, tenantID, d); err != nil {
			return err
		}
	}
	return nil
}

// file writes d's row in the due index.
func (s *Service) file(ctx context.Context, tenantID string, d Delivery) error {
	row := dueRow{Bucket: s.bucketOf(d.DueMS), DueMS: d.DueMS, Tenant: tenantID, NotificationID: d.NotificationID, Channel: d.Channel}
	if err := s.due.Insert(ctx, &row); err != nil {
		return fmt.Errorf("notification %q: due index, %s: %w", d.NotificationID, d.Channel, err)
	}
	return nil
}

func (s *Service) bucketOf(ms int64) int64 { return ms / s.cfg.Bucket.Milliseconds() }

// route returns the channels of kind, in the order of Config.Channels.
func (s *Service) route(kind string) []Channel {
	names, ok := s.cfg.Routes[kind]
	if !ok {
		return s.cfg.Channels
	}
	var out []Channel
	for _, ch := range s.cfg.Channels {
		for _, name := range names {
			if ch.Name() == name {
				out = append(out, ch)
			}
		}
	}
	return out
}

// Get returns notification id of ctx's tenant with its deliveries; an error
// matching orm.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (Record, error) {
	n, err := s.notes.Get(ctx, id)
	if err != nil {
		return Record{}, fmt.Errorf("notification %q: %w", id, err)
	}
	r := Record{Notification: n, Deliveries: []Delivery{}}
	for d, err := range s.deliveries.Query().Where(orm.Eq("notification_id", id)).All(ctx) {
		if err != nil {
			return Record{}, fmt.Errorf("notification %q: deliveries: %w", id, err)
		}
		r.Deliveries = append(r.Deliveries, d)
	}
	return r, nil
}

// MaxList is the most notifications ForUser returns.
const MaxList = 100

// ForUser returns the latest limit (1 to MaxList; other values mean MaxList)
// notifications of user userID, newest first, each with its deliveries.
func (s *Service) ForUser(ctx context.Context, userID string, limit int) ([]Record, error) {
	if limit < 1 || limit > MaxList {
		limit = MaxList
	}
	out := []Record{}
	for row, err := range s.byUser.Query().Where(orm.Eq("user_id", userID)).Limit(limit).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("notifications of user %q: %w", userID, err)
		}
		r, err := s.Get(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
