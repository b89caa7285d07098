// Package realtime is a WebSocket hub with rooms: clients connect with a
// signed token, join the rooms their tenant and the room policy allow, and
// get each room's messages in order, with an id they can resume from
// after a reconnection. Services send with Hub.Broadcast; a Bus (RedisBus)
// carries each message to the room's members on every hub process.
//
//	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb})
//	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: key, AllowedOrigins: []string{"shop.example.com"}})
//	defer hub.Close()
//	http.Handle("/ws", hub.Handler())
//	id, err := hub.Broadcast(tenant.With(ctx, "acme"), "user:42", "order_status_update", status)
//
// # Authentication
//
// The token is a JWT given as the Authorization header's bearer token or,
// because browsers cannot set headers on a WebSocket, as the query
// parameter "token" (keep such tokens short-lived: URLs end up in logs).
// It carries "sub" (the user), "tenant" and "roles" (Claims); it must have
// "exp", and "iss" and "aud" when Config.Issuer and Config.Audience are
// set. It is signed with HMAC-SHA256 (Config.HMACKey) or with EdDSA or
// RS256 (Config.PublicKey); IssueToken makes one. A request without a
// valid token is refused before the upgrade with 401 and no detail (the
// reason goes to the Logger, at debug level); a browser request from an
// origin that is neither the endpoint's host nor in Config.AllowedOrigins
// is refused with 403. When the token expires, the connection is closed
// with 1008: the client reconnects with a fresh token and resumes.
//
// # Protocol
//
// Each WebSocket text message is one JSON object, a Frame. The client
// sends:
//
//	{"op":"join","room":"user:42"}                      join from now on
//	{"op":"join","room":"user:42","since":"1712-3"}    join after message 1712-3
//	{"op":"leave","room":"user:42"}
//
// and the hub sends:
//
//	{"op":"message","id":"1713-0","room":"user:42","type":"order_status_update","data":{...}}
//	{"op":"joined","room":"user:42","last":"1713-0"}
//	{"op":"gap","room":"user:42","last":"1713-0"}
//	{"op":"left","room":"user:42"}
//	{"op":"error","room":"user:42","code":"forbidden","error":"not allowed in the room"}
//
// A join is answered by the messages after since still in the history
// (none without since), then "joined", whose "last" is the id the client
// has everything up to; then come the room's new messages. If messages
// after since are no longer kept, "gap" replaces the replay and "joined":
// the client is in the room from "last" on, and should reload what it
// shows from the services. A client resumes by joining with since set to
// the id of the last message it got from the room, or the "last" of the
// latest "joined" or "gap" if no message came after it. The error codes
// are the Code constants: a refused join is an error, and no message of
// that room ever reaches the connection.
//
// # Rooms and the policy
//
// A room name is 1 to MaxRoomName ASCII letters, digits and "_-.:@", and
// always within the connection's tenant: tenant A's "admin" is not tenant
// B's, whatever the policy says, and Broadcast sends to the tenant its
// context carries (tenant.From). Config.Policy decides which names a
// connection may join; DefaultPolicy admits "user:<own id>", and "admin"
// for the role "admin".
//
// # Backpressure and limits
//
// Each connection has a queue of Config.QueueSize messages, written by its
// own goroutine: a broadcast never waits for a client. A client whose
// queue is full is closed with 1013 (try again later), once the write in
// hand is done; one write of which takes longer than Config.WriteTimeout
// is cut off at once (the client sees 1006). Either reconnects and
// resumes, from the history if it has not fallen too far behind. The hub pings every Config.PingInterval and drops a connection
// that has not answered within Config.PingTimeout (without a close
// handshake, so the client sees 1006). A client message above
// Config.MaxMessageBytes closes the connection with 1009; a client that
// sends more than Config.ControlRate messages a second beyond a burst of
// Config.ControlBurst is closed with 1008. Hub.Close closes every
// connection with 1001. Hub.Stats counts the connections dropped for each
// reason.
//
// # Ids, history and several hubs
//
// A Bus gives ids, keeps the history and carries messages between hubs.
// RedisBus keeps each room in a Redis stream capped at
// RedisConfig.HistorySize entries: XADD gives the id ("<ms>-<seq>" from the
// Redis server's clock, growing for the room whichever hub publishes) and
// keeps the history, and the same Lua script publishes the message on the
// room's channel, to which each hub with members in the room subscribes;
// so the ids a hub receives grow, and a resume reads the stream. A hub
// delivers a message to a member only if its id is after the member's
// last, so a message that comes both from the replay and live is sent
// once. A join subscribes before it reads the history, and holds back the
// live messages that come meanwhile, so nothing falls between the two. A
// gap is detected exactly: a key beside each stream keeps the id of the
// last message the cap dropped.
//
// The history expires RedisConfig.HistoryTTL after the room's last
// message. When Redis is down, Broadcast and joins fail with an error
// (the client gets "unavailable"), the connections stay and nothing is
// delivered; the hub's subscription reconnects by itself, then reads every
// room's history from each member's last message, so members get what was
// published meanwhile (or a gap).
//
// # What is not guaranteed
//
//   - A connection gets a room's messages while it is connected; what it
//     missed while away it gets only by resuming, and only as far back as
//     the history goes (beyond, it is told of the gap).
//   - There is no order between rooms.
//   - A Broadcast that fails may have been published (a timeout after
//     Redis ran the script); it is never retried.
//   - The history is as durable as Redis: a Redis that restarts without its
//     data, fails over to a replica that lacked the last writes, or evicts
//     keys under maxmemory, can lose messages that a resume does not report
//     as a gap.
//   - Hubs that share rooms must share RedisConfig.Prefix and HistoryTTL,
//     and ids assume the Redis server's clock does not go back by more than
//     a room's idle time.
package realtime
