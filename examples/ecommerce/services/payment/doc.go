// Package payment is the e-commerce platform's payment service: it charges
// customers through a card network (in development, the simulator of package
// cardnet), refunds them, and books every move of money in a double-entry ledger in
// Cassandra.
//
// The order service's order_processing saga calls it at least once per step: its
// process_payment step charges (POST /payments/{id}/charge) and its compensation
// refunds (POST /payments/{id}/refund), the payment id being the saga's branch
// "<saga id>/<step>" (or any id the client chooses). Each call runs through a saga
// barrier (package saga/barrier) keyed by that branch: a repeated delivery gets the
// stored result, a delivery while another runs is told to retry (503), a refund that
// arrives before its charge records a null compensation (the payment is voided), and
// a charge arriving after that is refused (409), so money never moves for a step
// that was compensated.
//
// # The ledger
//
// Each currency has two accounts: CustomerAccount (what customers owe) and
// MerchantAccount (the merchant's revenue). An approved charge debits the first and
// credits the second by its amount; a refund books the reverse. The entries of a
// move and the payment's new status are written in one logged batch, so they land
// together or not at all, and their ids are derived from the payment id and the kind
// of move ("<payment id>/charge/credit"), so writing a move again writes the same
// rows. Hence, once writes have landed, the balances of each currency sum to 0 and
// the merchant's is the approved charges minus the refunds. A declined charge books
// nothing.
//
// # Unknown outcomes
//
// A call to the network that times out (or fails without an answer, or gets a 5xx)
// has an unknown outcome: the network may have charged the card. It is retried
// under Config.Retry with the same idempotency key, which the network dedupes. If no
// attempt gets an answer, the payment is recorded neither approved nor declined: it
// stays pending, the barrier marks the run failed, and the caller is answered 503.
// The next delivery (the saga retries with the same key) runs again, asks the
// network again under the same key, and the network answers what it did, charging
// at most once. If the saga gives up and compensates instead, the refund looks the
// charge up at the network by its key and refunds it if it was made. What remains
// open is a request still travelling to the network when that lookup is made: the
// network would charge it after the lookup found nothing; a real integration closes
// that with the provider's authorization expiry or a reconciliation report.
//
// The idempotency keys sent to the network are the barrier's keys,
// "<id>/do" and "<id>/undo", led by the tenant ("acme/<id>/do"), since the network's
// keys are shared by all the shops it serves.
//
// # Tenancy
//
// The payments, ledger and barrier tables are tenant-scoped: on a tenanted DB (the
// tenant registry's) every call runs for the tenant of its context, which
// tenanthttp.Middleware puts there, and two tenants may use the same payment id.
package payment
