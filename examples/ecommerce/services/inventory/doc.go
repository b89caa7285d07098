// Package inventory is the e-commerce platform's inventory service: the stock of
// each product, and the reservations an order's saga makes on it, such that no
// product is ever oversold, every effect happens once per reservation id, and no
// reservation is left holding units for an order that died.
//
// # One partition per product, one conditional batch per change
//
// A product's stock and all its reservations live in one partition of the
// inventory_stock table (model Stock): static columns hold on_hand, available,
// version and the set of held reservations (holds), and each reservation is a row
// clustered by its id, with its quantity, state (held, committed, released,
// cancelled, expired), expiry and creation time. Cassandra applies a conditional
// batch only within one partition, and applies it all or nothing, so every change
// (Reserve, Release, Commit, SetStock, Restock, SetReorder, Reorder, Receive, an
// expiry) is one batch that sets
// the static columns IF version is the one it read, and writes the rows it
// changes. Whoever gets there first wins; the others read again and decide afresh,
// with the module's retry package spacing the attempts (exponential backoff with
// jitter, Config.Attempts). A reserve decides on what it read: it holds q units
// only if available was at least q at version v, and the batch applies only if the
// version is still v, so available can never go below zero, whatever the number of
// buyers. TestReserveLastUnitsConcurrently runs 50 buyers at once for the last 10
// units: exactly 10 get one.
//
// # Idempotent per reservation id, in any order
//
// The saga calls each participant at least once, and its calls may be duplicated
// or reordered. A reservation's row is its record, and the row is written IF NOT
// EXISTS in the batch that holds the units:
//
//   - Reserve of a product already held or committed under the id is a duplicate:
//     it reports the row and holds nothing more. Of one released or cancelled it
//     is refused with ErrCompensated: the saga has undone it already.
//   - Release of a held reservation gives its units back; of a committed one
//     undoes the sale (back on hand); of one released, cancelled or expired does
//     nothing. A Release that comes before its Reserve (an undo overtaking its do)
//     writes a cancelled row (quantity 0), IF NOT EXISTS, so that the late Reserve
//     finds it and is refused: nothing is left held.
//   - Commit of a held reservation sells it (on hand goes down, available stays);
//     of a committed one does nothing; of one not held it fails with ErrNotHeld,
//     and of one expired with ErrExpired (the saga then compensates).
//
// A Reserve of several products takes them in product id order, one batch each
// (a batch cannot span partitions). When one is refused (short of units, unknown,
// compensated, expired), Reserve releases what the reservation holds in the
// others and returns the error naming the product. After a failure that is not a
// refusal (a timeout, contention, the caller's context ending) the holds it made
// stay, for the saga's repeated call to complete, or for its compensation or their
// expiry to give back: releasing them would make the repeated call fail with
// ErrCompensated.
//
// # Unknown outcomes
//
// A batch whose answer is lost (orm.ErrUncertain: a timeout, a lost connection)
// may have applied. It is never sent again blind: the next attempt reads the
// partition at SERIAL consistency, which completes any lightweight transaction
// in progress, and decides on what it finds. A Reserve whose row is there is
// done; one whose row is absent was not applied, and the next batch is again
// conditioned on the version and IF NOT EXISTS, so it cannot apply twice. Restock,
// which adds, records its change id in last_change and recognises it; if another
// Restock landed since, it cannot tell and fails with orm.ErrUncertain. When the
// attempts run out after an unknown outcome, the error matches orm.ErrUncertain.
//
// # Expiry
//
// A held reservation expires at its expires_at, so units never stay held by an
// order that died. Two mechanisms release it, each as an ordinary change
// conditioned on the version:
//
//   - lazily: every change to a product releases, in the same batch, the holds of
//     the product whose time has passed (up to 20 per batch; a Reserve refused for
//     want of units while more are due releases those and decides again). The
//     holds column lists them, so nothing but the partition's static row is read;
//     Check and Commit count them as released.
//   - the sweeper, RunExpiry: Reserve first writes an index row (inventory_expiry:
//     partition bucket = the expiry time truncated to Config.Bucket, one minute by
//     default; clustering expires_at, product_id, reservation_id). The sweeper
//     reads the open buckets for the rows already due, and each complete bucket
//     (its end plus Config.Grace passed) once more, then moves its cursor past it.
//     The cursor is a row of inventory_expiry_cursor (one per tenant), moved only
//     forward by a lightweight transaction; a restarted sweeper goes on from it, so
//     old buckets and their tombstones are never read again. Without a cursor it
//     starts Config.Lookback ago. Index rows are hints, written before the hold so
//     that none is missing, expiring with Config.Retention; the partition decides.
//     Several sweepers may run: releases are conditioned, so they only duplicate
//     reads.
//
// # Reordering
//
// A product's reorder policy (SetReorder: auto_reorder, reorder_threshold,
// reorder_quantity) lives in static columns of its partition, and so does the
// id of its open purchase order, open_purchase_order. Reorder opens a purchase
// order when the policy has auto_reorder and available is at or below the
// threshold: it sets open_purchase_order IF it is null, in the conditional batch
// guarded by the version, so of any number of concurrent calls in any number of
// processes exactly one opens one, and no other opens until Receive has added its
// units to the stock and cleared the column (again one guarded batch). The
// purchase order's row (table inventory_purchase_orders, one partition per
// product: id, quantity, state open or received, created_at, received_at) is
// written after the batch,
// IF NOT EXISTS, by the call that opened it or by any later call that finds it
// missing. A Reorder whose batch's outcome was lost reads at SERIAL consistency
// like every change, and finds its own id there or not; it never opens a second
// order on an unknown outcome. The notification service's Watcher calls Reorder
// on the low-stock changes of the change feed.
//
// # Change feed
//
// With Config.Feed, the stock model records its writes in the feed
// (orm.RecordChanges): each statement of a change's batch is a change of table
// inventory_stock, the static row's carrying on_hand and available in its
// values only when the change changed them.
//
// # Choices beyond the first design, and why
//
//   - The held reservations are kept in the static column holds (a map to their
//     quantity, expiry and creation time), written in the same batches as the rows.
//     Lazy expiry, Get and the held total need no scan of the partition, whose rows
//     grow with every order; every other read is by key.
//   - The state expired is apart from released, so that a Commit after expiry is
//     told ErrExpired (410), not ErrNotHeld.
//   - The index is clustered by expiry time first, so the sweeper can read an open
//     bucket up to now.
//   - Rows are written with a TTL of Config.Retention (7 days by default): they
//     are the record that makes a duplicate call a no-op, for as long as the saga
//     may repeat one, and they are only read by key, so their tombstones are never
//     scanned. A reservation id must not be used again after it.
//   - A cancelled row is a lightweight transaction (IF NOT EXISTS) of its own: it
//     changes no stock, so it does not bump the version.
//
// # Limits
//
// The static row holds one entry per held reservation and is read by every
// change: a product with tens of thousands of carts held at once makes every
// change read them all. The changes to one product go one at a time, each a
// lightweight transaction (several round trips between replicas), so a product's
// throughput is bounded by its partition whatever the cluster's size (not
// measured here); under contention the attempts back off and, past
// Config.Attempts, fail with ErrContended.
//
// # HTTP
//
// Service.Handler serves the API (see its documentation) behind
// tenanthttp.Middleware: the tenant comes from the request's context, and on a
// tenanted DB every stock is the tenant's own. Command inventory
// (examples/ecommerce/cmd/inventory) runs it.
//
//	svc, err := inventory.New(db, inventory.Config{})
//	_ = svc.Sync(ctx)
//	_, _ = svc.SetStock(ctx, "sku-1", 10)
//	_, err = svc.Reserve(ctx, "saga-7/reserve_inventory", []inventory.Item{{ProductID: "sku-1", Quantity: 2}}, 15*time.Minute)
//	_, err = svc.Commit(ctx, "saga-7/reserve_inventory", []string{"sku-1"})
//	go svc.RunExpiry(ctx)
package inventory
