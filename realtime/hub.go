package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// ErrClosed: the hub is closed.
var ErrClosed = errors.New("realtime: hub closed")

// Hub serves WebSocket clients in rooms: its Handler is the endpoint, and
// Broadcast sends a message to a room's members on every hub of the Bus.
// Its methods are safe for concurrent use.
type Hub struct {
	cfg    Config
	verify *verifier
	sub    Subscription

	mu     sync.Mutex
	rooms  map[Room]*room
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // the connections and the resyncs

	delivered, slow, unresponsive, rateLimited, resyncs atomic.Uint64
}

// room is a room with members on this hub.
type room struct {
	key   Room
	ready chan struct{} // closed once the Listen of the room has returned
	err   error         // what it returned; set before ready is closed

	mu      sync.Mutex
	members map[*conn]*member
}

// member is a connection's place in a room.
type member struct {
	// last is the id of the last message queued to the connection, or the
	// position it started from: it gets only later ones.
	last ID
	// catching is set while the member's history is read: new messages
	// wait in buf meanwhile.
	catching bool
	buf      []pending
	// again is set when a resync comes while catching: the history is read
	// once more after this read.
	again bool
}

// pending is a message waiting in member.buf: its id and frame.
type pending struct {
	id    ID
	frame []byte
}

// New returns a hub on cfg.Bus. Close it to disconnect its clients.
func New(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	h := &Hub{
		cfg:    cfg,
		verify: newVerifier(cfg),
		rooms:  make(map[Room]*room),
		conns:  make(map[*conn]struct{}),
	}
	sub, err := cfg.Bus.Subscribe(h.deliver, h.resync)
	if err != nil {
		return nil, fmt.Errorf("realtime: subscribe to the bus: %w", err)
	}
	h.sub = sub
	return h, nil
}

// Handler returns the WebSocket endpoint. A request is refused with 401
// unless it carries a valid token (the Authorization header's bearer
// token, or the query parameter "token"), then with 403 if its Origin is
// neither the endpoint's host nor allowed by Config.AllowedOrigins, and
// with 503 once the hub is closed.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serve) }

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	who, exp, err := h.verify.request(r)
	if err != nil {
		h.cfg.Logger.Debug("realtime: request refused", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowedOrigins})
	if err != nil {
		h.cfg.Logger.Debug("realtime: upgrade refused", "remote", r.RemoteAddr, "user", who.User, "tenant", who.Tenant, "err", err)
		return
	}
	c := newConn(h, ws, who, exp.Add(h.cfg.Leeway))
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.Close(websocket.StatusGoingAway, "hub closing")
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	c.run()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Broadcast sends a message of type msgType with data (encoded as JSON) to
// the members of room in the tenant of ctx (tenant.From), on every hub, and
// returns its id. An error means it was not sent, except an error of the
// Bus, which leaves it unknown (see Bus.Publish); Broadcast never retries.
func (h *Hub) Broadcast(ctx context.Context, room, msgType string, data any) (ID, error) {
	t, err := tenant.From(ctx)
	if err != nil {
		return ID{}, fmt.Errorf("realtime: broadcast to room %q: %w", room, err)
	}
	if err := checkRoomName(room); err != nil {
		return ID{}, fmt.Errorf("realtime: broadcast: %w", err)
	}
	if err := checkType(msgType); err != nil {
		return ID{}, fmt.Errorf("realtime: broadcast to room %q: %w", room, err)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return ID{}, fmt.Errorf("realtime: broadcast %s to room %q: data: %w", msgType, room, err)
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ID{}, fmt.Errorf("realtime: broadcast to room %q: %w", room, ErrClosed)
	}
	return h.cfg.Bus.Publish(ctx, Room{Tenant: t, Name: room}, msgType, b)
}

// Stats are counts of a hub, for metrics.
type Stats struct {
	// Connections and Rooms are the open connections and the rooms with
	// members on this hub, now.
	Connections, Rooms int
	// Delivered counts the room messages queued to connections.
	Delivered uint64
	// SlowConsumers counts the connections closed because their queue was
	// full or a write took longer than Config.WriteTimeout.
	SlowConsumers uint64
	// Unresponsive counts the connections closed for want of a pong.
	Unresponsive uint64
	// RateLimited counts the connections closed for sending too fast.
	RateLimited uint64
	// Resyncs counts the rooms whose history was read again because the
	// Bus lost and regained its connection.
	Resyncs uint64
}

// Stats returns the hub's counts.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{
		Connections: len(h.conns), Rooms: len(h.rooms),
		Delivered: h.delivered.Load(), SlowConsumers: h.slow.Load(),
		Unresponsive: h.unresponsive.Load(), RateLimited: h.rateLimited.Load(),
		Resyncs: h.resyncs.Load(),
	}
}

// Close closes every connection with 1001 (going away), waits for them to
// end and closes the hub's bus subscription. Later requests get 503.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for c := range h.conns {
		c.stop(websocket.StatusGoingAway, "hub closing", false)
	}
	h.mu.Unlock()
	h.wg.Wait()
	return h.sub.Close()
}

// join makes c a member of key, with every message after since (or, if
// fresh, every message from now on), and queues the replayed messages and
// the OpJoined or OpGap frame to c. It returns the room.
func (h *Hub) join(ctx context.Context, c *conn, key Room, since ID, fresh bool) (*room, error) {
	h.mu.Lock()
	r := h.rooms[key]
	creator := r == nil
	if creator {
		r = &room{key: key, ready: make(chan struct{}), members: make(map[*conn]*member)}
		h.rooms[key] = r
	}
	r.mu.Lock()
	r.members[c] = &member{last: since, catching: true}
	r.mu.Unlock()
	h.mu.Unlock()

	if creator {
		r.err = h.sub.Listen(ctx, key)
		if r.err != nil {
			h.mu.Lock()
			if h.rooms[key] == r {
				delete(h.rooms, key)
			}
			h.mu.Unlock()
		}
		close(r.ready)
	}
	select {
	case <-r.ready:
	case <-ctx.Done():
		h.leave(r, c)
		return nil, fmt.Errorf("realtime: join room %s: %w", key, ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := h.catchUp(ctx, r, []*conn{c}, since, fresh, true); err != nil {
		h.leave(r, c)
		return nil, err
	}
	return r, nil
}

// leave removes c from r, and r from the hub if it is left empty.
func (h *Hub) leave(r *room, c *conn) {
	h.mu.Lock()
	r.mu.Lock()
	delete(r.members, c)
	empty := len(r.members) == 0
	r.mu.Unlock()
	gone := empty && h.rooms[r.key] == r
	if gone {
		delete(h.rooms, r.key)
	}
	h.mu.Unlock()
	if gone {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.BusTimeout)
		defer cancel()
		if err := h.sub.Unlisten(ctx, r.key); err != nil {
			h.cfg.Logger.Warn("realtime: unlisten", "room", r.key.String(), "err", err)
		}
	}
}

// deliver is the Bus subscription's delivery of a message of key.
func (h *Hub) deliver(key Room, m Message) {
	h.mu.Lock()
	r := h.rooms[key]
	h.mu.Unlock()
	if r == nil {
		return
	}
	frame, err := messageFrame(key.Name, m)
	if err != nil {
		h.cfg.Logger.Warn("realtime: message dropped", "room", key.String(), "id", m.ID.String(), "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, mem := range r.members {
		switch {
		case mem.catching && len(mem.buf) >= h.cfg.QueueSize:
			c.overflow()
		case mem.catching:
			mem.buf = append(mem.buf, pending{id: m.ID, frame: frame})
		case m.ID.Compare(mem.last) > 0:
			mem.last = m.ID
			c.sendMessage(frame)
		}
	}
}

// resync is the Bus subscription's notice that messages of key may have
// been missed: each member reads the history from its last message. The
// members are marked before it returns, so the messages the subscription
// delivers next wait for the read.
func (h *Hub) resync(key Room) {
	h.mu.Lock()
	r := h.rooms[key]
	if r == nil || h.closed {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	h.resyncs.Add(1)
	groups := make(map[ID][]*conn)
	r.mu.Lock()
	for c, m := range r.members {
		if m.catching {
			m.again = true
			continue
		}
		m.catching = true
		groups[m.last] = append(groups[m.last], c)
	}
	r.mu.Unlock()
	go func() {
		defer h.wg.Done()
		for since, cs := range groups {
			ctx, cancel := context.WithTimeout(context.Background(), h.cfg.BusTimeout)
			_ = h.catchUp(ctx, r, cs, since, false, false)
			cancel()
		}
	}()
}

// round is one history read of catchUp: for conns, members of the room
// that all have the same last id, since.
type round struct {
	since ID
	fresh bool // read the cursor, not the history
	ack   bool // queue OpJoined
	conns []*conn
}

// catchUp reads r's history since since (its cursor if fresh) and queues
// to each of conns what it has not had, then OpJoined if ack (or OpGap
// when there is a gap), then the messages that came meanwhile. Members
// that a resync marked meanwhile read again. An error of the first read of
// a join (ack) is returned; a later error closes the connections with 1013,
// so their clients come back and resume.
func (h *Hub) catchUp(ctx context.Context, r *room, conns []*conn, since ID, fresh, ack bool) error {
	rounds := []round{{since: since, fresh: fresh, ack: ack, conns: conns}}
	for len(rounds) > 0 {
		rd := rounds[0]
		rounds = rounds[1:]
		var hist History
		var err error
		if rd.fresh {
			hist.Last, err = h.cfg.Bus.Cursor(ctx, r.key)
		} else {
			hist, err = h.cfg.Bus.Since(ctx, r.key, rd.since)
		}
		if err != nil && rd.ack {
			return err
		}
		if err != nil {
			h.cfg.Logger.Warn("realtime: resync failed; its connections are closed", "room", r.key.String(), "connections", len(rd.conns), "err", err)
			for _, c := range rd.conns {
				c.stop(websocket.StatusTryAgainLater, "history unavailable", false)
			}
			continue
		}
		frames := make([][]byte, len(hist.Messages))
		for i, m := range hist.Messages {
			if frames[i], err = messageFrame(r.key.Name, m); err != nil {
				h.cfg.Logger.Warn("realtime: message dropped", "room", r.key.String(), "id", m.ID.String(), "err", err)
			}
		}
		again := make(map[ID][]*conn)
		r.mu.Lock()
		for _, c := range rd.conns {
			m := r.members[c]
			if m == nil {
				continue // left meanwhile
			}
			h.replay(c, m, r.key.Name, hist, frames, rd.ack)
			if m.again {
				m.again = false
				again[m.last] = append(again[m.last], c)
			} else {
				m.catching = false
			}
		}
		r.mu.Unlock()
		for id, cs := range again {
			rounds = append(rounds, round{since: id, conns: cs})
		}
	}
	return nil
}

// replay queues to c, member m of room name, what hist holds after m.last
// (frames are its messages' frames), then OpJoined if ack (OpGap if hist
// has a gap), then what waits in m.buf. Its caller holds the room's lock.
func (h *Hub) replay(c *conn, m *member, name string, hist History, frames [][]byte, ack bool) {
	if hist.Gap {
		c.sendFrame(Frame{Op: OpGap, Room: name, Last: hist.Last.String()})
	} else {
		for i, msg := range hist.Messages {
			if msg.ID.Compare(m.last) > 0 && frames[i] != nil {
				c.sendMessage(frames[i])
			}
		}
		if ack {
			c.sendFrame(Frame{Op: OpJoined, Room: name, Last: hist.Last.String()})
		}
	}
	// From the history's end: a since beyond it (which no message gave)
	// would leave the client waiting for ids it made up.
	m.last = hist.Last
	for _, p := range m.buf {
		if p.id.Compare(m.last) > 0 {
			m.last = p.id
			c.sendMessage(p.frame)
		}
	}
	m.buf = nil
}
