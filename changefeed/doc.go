// Package changefeed is the module's change log: entries in time order, stored in
// partitions per time bucket and shard, with a listing of the buckets that hold
// entries, read forward from a Position so that readers never scan what they have
// passed. The event store's global feed (package eventsourcing) is a Log; the
// change feed of ORM models is being built on the same Log.
//
// # Writing
//
// A write whose record can go in the same logged batch as the write itself is
// committed by construction. A write that cannot (a lightweight transaction,
// whose batch may span one partition only) writes its entries first, with
// WriteAhead, and a committed write is then never missing from the log; an entry
// whose write was refused is deleted with Abandon, best effort.
//
// # Reading
//
// Read returns a shard's entries after a position, never closer to the present
// than Config.Lag, so that entries written with a slightly earlier time are not
// passed. Each entry goes through the log's Verify: an entry written ahead is
// delivered once its write is known to have applied (and then marked committed,
// sparing later readers the check), waited for while its write may still be in
// flight, and skipped once it is known not to have applied or after
// Config.AbandonAfter.
//
// # Checkpoints
//
// A reader keeps its place in Checkpoints, one per name, and holds it under a
// lease (package lease) with a Claim: the claim writes the checkpoint back under
// the holder's token at once, and every later save is conditioned on that token,
// so a holder that lost its lease while paused cannot move the checkpoint once its
// successor has saved (ErrFenced).
//
// Package changefeed/filter is the filter language of subscriptions.
package changefeed
