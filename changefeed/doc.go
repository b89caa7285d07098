// Package changefeed is the change feed of ORM models and the change log beneath
// it. A model made with orm.RecordChanges(feed) has every write it makes
// recorded in the feed's log atomically with the write; subscriptions read the
// log, filtered by table, operation and the values of the row, and hand each
// change to a Go handler (or, with package changefeed/deliver, to the event bus
// or to WebSocket rooms). A durable subscription gets each committed change at
// least once, in order for each partition, after any crash of a writer or a
// reader, with one known exception: a plain write whose batch applies long after
// its writer gave up on it, when that writer died before recording a stand-in
// (see docs/changefeed.md).
//
//	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{})
//	orders, err := orm.NewModel[Order](db, orm.RecordChanges(feed))
//	err = db.Sync(ctx, append(feed.Models(), orders)...)
//
//	subs := changefeed.Subscriber{Feed: feed, Leases: leases}
//	err = subs.Subscribe(ctx, changefeed.Subscription{
//		Name: "order-status", Table: "orders", Ops: []orm.ChangeOp{orm.OpUpdate},
//		Filter: filter.In("status", "processing", "shipped", "delivered"),
//		Handle: func(ctx context.Context, c changefeed.Change) error { ... },
//	})
//
// # Recording
//
// A plain write goes to Cassandra as one logged batch with its change record
// (Feed.Stage), so the record is committed exactly when the write is; a
// delete of several rows (orm.Query.Delete) with a record per key prefix it
// deleted under, whose Change.Range bounds a slice. A
// conditional write (a lightweight transaction, whose batch may span one
// partition only) has its record written first (Feed.WriteAhead) and then runs
// as a conditional batch that also adds the record's id to the row's mark column
// (orm.ChangeMarkColumn, static on a table with clustering columns): a reader
// that finds the record before its writer has told the outcome reads the mark
// to learn whether the write applied, at SERIAL consistency once the writer has
// had time to finish, which completes or fails a transaction left half done.
// A record stays unresolved at most until its mark would expire
// (FeedConfig.MarkTTL); one still unknown then is delivered with
// Change.Uncertain set.
//
// A recorded write must land within half the log's Lag of its record's time
// (its context gets that deadline): readers stay Lag behind the present, so they
// have not passed its place yet. A staged write that lands later, or whose
// outcome is unknown, is recorded again under the same change id, so it is not
// missed; a subscriber may then get it twice. A batch the cluster applies
// later still, its writer gone, lands behind the readers: they look back over
// Config.LookBack (DefaultLookBack for a Feed) and deliver it then, with
// Change.Late set.
//
// # Subscriptions
//
// A Subscription names a table, the operations it wants and a filter (package
// changefeed/filter: Go builders and the seed's JSON form, checked against the
// model's table when the subscription starts). A filter on a column the write
// did not set is matched against the row as it is when the subscriber reads the
// change (one read more per change, and the row may be newer than the change);
// ReadRow reads it for every change. A durable subscription (one with a Name)
// holds each shard under a lease and keeps its place in a fenced checkpoint, so
// it resumes after a restart where it stopped, and one process at a time reads a
// shard; an ephemeral one starts at the present and keeps nothing. On a tenanted
// DB a subscription reads the changes of the tenant of its context.
//
// # The log
//
// Log is what the feed and the event store's global feed (package
// eventsourcing) are both made of: entries in time order, stored in partitions
// per time bucket and shard, with a listing of the buckets that hold entries,
// read forward from a Position so that readers never scan what they have passed.
// Read returns a shard's entries after a position, never closer to the present
// than Config.Lag. Each entry goes through the log's Verify: an entry written
// ahead is delivered once its write is known to have applied (and then marked
// committed, sparing later readers the check), waited for while its write may
// still be in flight, and skipped once it is known not to have applied or after
// Config.AbandonAfter. Follow reads a shard for good, under a Claim.
//
// # Checkpoints
//
// A reader keeps its place in Checkpoints, one per name, and holds it under a
// lease (package lease) with a Claim: the claim writes the checkpoint back under
// the holder's token at once, and every later save is conditioned on that token,
// so a holder that lost its lease while paused cannot move the checkpoint once its
// successor has saved (ErrFenced). Follow gives the handler a context that
// carries the lease and ends when it is lost, to fence the handler's own writes.
//
// See docs/changefeed.md for the longer story, and what is not guaranteed.
package changefeed
