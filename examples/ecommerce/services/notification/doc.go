// Package notification is the e-commerce platform's notification service: a
// durable log of notifications in Cassandra, and workers that deliver each on
// its channels (e-mail over SMTP, a signed webhook, the WebSocket rooms of the
// real-time hub) with retries.
//
// # Model
//
// A Notification (id, user, kind, subject, body, data) is recorded once by its
// id: Notify with an id already recorded is a duplicate, not a second
// notification. The saga's idempotency key of the step that notifies is the
// natural id. Notify makes a Delivery per channel the kind is routed to
// (Config.Routes) whose Target is not empty, in state pending, and files it in
// the due index. Tables (named apart from the order service's own
// "notifications", so that both may share a keyspace), all tenant-scoped but the
// due index:
//
//	notification_log         (notification_id) → user, kind, subject, body, data, created_at
//	notification_by_user     (user_id) created_at desc, notification_id
//	notification_deliveries  (notification_id) channel → target, state, attempts, last_error,
//	                         next_attempt_at, sent_at, due_ms, claim_token, claim_until_ms
//	notification_due         (bucket) due_ms, tenant, notification_id, channel   (shared)
//
// # Delivery
//
// Run is a worker. Every Poll it reads the due index's buckets over the last
// Lookback (Lookback/Bucket+1 partition reads a poll, whatever the size of the
// log) and for each due row whose delivery is pending, due then and unclaimed:
//
//  1. claims it: UPDATE ... SET claim_token = new, claim_until_ms = now+Lease
//     IF state = 'pending' AND claim_token = <as read> AND due_ms = <as read>;
//     one worker wins, the others skip it;
//  2. sends it on its channel, under Timeout (below Lease);
//  3. records the outcome IF claim_token = <its own>: sent; or pending again
//     at now+Backoff (a new due row first, then the delivery, then the old row
//     deleted) while attempts are left; or dead with the last error after
//     MaxAttempts, or at once on an error matching ErrPermanent.
//
// A worker whose context ends mid-delivery gives the claim back without counting
// the attempt; one that dies keeps it until Lease has passed, then another
// worker claims the delivery again. A worker that took longer than its Lease
// finds its claim gone and records nothing.
//
// # Guarantees, and what they do not cover
//
// No two workers send one delivery at the same time, and a delivery recorded
// sent is never sent again. Delivery is at least once, not exactly once: a
// worker that stops or dies after the receiving end accepted a message and
// before the log records it sent leaves it to be sent again. SMTP cannot close
// that window (the server may commit a message whose answer the client never
// reads); every attempt of a delivery carries the same Message-ID (a hash of the
// notification id and the channel), so the copies are recognisable. The webhook
// carries the same Idempotency-Key on every attempt, so a receiver can drop the
// copies; a rooms broadcast carries the notification, whose id clients can drop
// when seen. A delivery due longer than Lookback ago when no worker ran is not
// found again. Notify writes the notification, then each delivery, then its due
// row: one interrupted by a failure leaves the notification without all its
// deliveries until it is called again with the same notification (it fills in
// what is missing), as the saga's retries do.
//
// # Watching the platform's changes
//
// A Watcher (NewWatcher, WatcherConfig) runs the seed's two subscriptions on the
// change feed, as durable subscriptions (package changefeed) of each tenant of
// WatcherConfig.Tenants: updates of the orders whose status is processing,
// shipped or delivered notify the order's user (KindOrderStatusUpdate, so room
// "user:<id>", and e-mail or webhook as Routes say), and updates of the stock
// that set available below 10 alert the administrators (KindLowStockAlert, room
// "admin") and then call WatcherConfig.Reorder (inventory.Service.Reorder). A
// notification's id is "change/<change id>": a change delivered again (delivery
// is at least once) is a duplicate for Notify, and records nothing new. The
// subscriptions see the changes of their tenant only. The models of the tables
// watched must record their changes in the feed in the watcher's process
// (order.Config.Feed, inventory.Config.Feed).
//
// The HTTP API is Service.Handler's.
package notification
