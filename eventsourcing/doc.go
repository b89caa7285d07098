// Package eventsourcing stores aggregates as streams of events in Cassandra and feeds
// those events to projections and to a message bus.
//
// An aggregate embeds Root[E], changes state only in Apply, and raises events with
// Raise; a Repository loads it (from a snapshot plus the events after it) and saves its
// new events:
//
//	type User struct {
//		eventsourcing.Root[UserEvent]
//		Email string
//	}
//	func (u *User) Apply(e UserEvent) { ... }
//
//	reg := eventsourcing.NewRegistry(nil)
//	_ = eventsourcing.Register[UserCreated](reg, 1)
//	store, _ := eventsourcing.NewStore(db, eventsourcing.StoreConfig{})
//	_ = store.Sync(ctx)
//	users, _ := eventsourcing.NewRepository[*User, UserEvent](store, reg, func() *User { return &User{} }, eventsourcing.RepositoryConfig{})
//	u := users.New("user-1")
//	eventsourcing.Raise[UserEvent](u, UserCreated{Email: "ada@example.com"})
//	err := users.Save(ctx, u) // errors.Is(err, eventsourcing.ErrConcurrency) if someone else saved first
//
//	// Load, decide, save; start over on a conflict.
//	p := retry.Policy{If: retry.On(eventsourcing.ErrConcurrency), MaxAttempts: 5}
//	err = retry.Do(ctx, p, func(ctx context.Context, _ int) error {
//		return users.Update(ctx, "user-1", func(u *User) error { return u.Rename("Ada") })
//	})
//
// # Storage
//
// A stream is split into partitions (buckets) of about StoreConfig.BucketSize events.
// Each bucket has a static head column, the stream's version; an append is one
// conditional batch in one bucket, "IF head = expected", so of any number of writers at
// one version exactly one wins and the others get a *ConcurrencyError with the current
// version. Events are never overwritten and versions have no gaps. Appends are
// idempotent by event ID: repeating an append that did apply (after a timeout, say)
// succeeds without writing twice. An append whose outcome is unknown fails with an
// error matching orm.ErrUncertain, never with a conflict.
//
// Every append first writes its events to a global feed, partitioned by time, and only
// then to the stream. The feed is thus a write-ahead log and an outbox: no stored event
// is missing from it, and readers skip entries whose event never reached its stream.
// Each stored event names the entry of the attempt that stored it, so a retried
// append's extra entries are skipped too: the feed delivers each event once.
// Projections (Projector) read the feed in order with checkpoints and a lease in
// Cassandra, so they resume after a crash and never run twice at once; Relay is the
// projection that publishes events to a cqrs.Publisher such as Kafka. Delivery is at
// least once: handlers dedupe by event ID or stream version.
//
// docs/eventsourcing.md tells the longer story.
package eventsourcing
