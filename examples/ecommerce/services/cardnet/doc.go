// Package cardnet is a card network simulator: the stand-in for the card provider
// that the e-commerce example's payment service charges and refunds through, since
// no real provider is reachable from a development machine. It serves a small JSON
// API over HTTP (Network.Handler) with the properties the payment service must cope
// with: idempotency keys, declines, latency, and outages.
//
//	POST /v1/charges   {"idempotency_key", "amount_cents", "currency", "card"}
//	                   → 201 {"charge_id", "status": "approved"|"declined", "decline_code", ...}
//	                     200 the same answer for a key seen before (nothing is charged twice)
//	                     409 the key seen before with another amount, currency or card
//	POST /v1/refunds   {"idempotency_key", "charge_id", "amount_cents"}
//	                   → 201 {"refund_id", ...}; 200 the same answer for a key seen before;
//	                     404 no such charge; 409 more than is left to refund, or the key
//	                     seen before for another charge or amount
//	GET  /v1/charges/{id}                  → 200 the charge; 404
//	GET  /v1/charges?idempotency_key=KEY   → 200 the charge made under KEY; 404 none
//	GET  /v1/stats                         → 200 Stats: what the network has done
//
// A request the simulator refuses as malformed gets 400 {"error": message, "fields":
// {"amount_cents": "must be positive", ...}}; other errors are {"error": message}.
//
// Declines are decided from Config.Seed and the idempotency key alone, so a retried
// request gets the decision the first one got, and a test with a fixed seed sees the
// same declines on every run; Config.DeclineRate is the share of keys declined.
// Test cards decide by themselves: CardApprove always approves, CardDecline always
// declines with "card_declined" and CardInsufficientFunds with "insufficient_funds".
//
// Outages: with Config.OutageRate a share of API requests (drawn from a generator
// seeded with Config.Seed) is answered 503 with Retry-After before anything is
// looked at, so a retry is always safe; SetOutage forces a full outage until it is
// lifted. Latency: Config.Latency plus up to Config.Jitter delays every other answer.
// A charge or refund is decided and recorded when its request arrives and only its
// answer is delayed, as on a real network: a client that gives up while waiting does
// not know whether it was charged, and must ask again with the same idempotency key.
// The delay honours the request's context, so a client that hangs up frees its
// handler at once. /v1/stats is the simulator's own window and has neither outages
// nor latency.
//
// The network's state lives in the memory of its process, guarded by a mutex: it is
// lost when the process ends, and two processes are two networks. It is a simulator,
// not a store.
package cardnet
