package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// conn is one client connection. Its reader goroutine (run) handles the
// client's requests and owns rooms and the rate limit; its writer
// goroutine writes the queue; its pinger pings.
type conn struct {
	h   *Hub
	ws  *websocket.Conn
	who Claims
	exp time.Time
	ctx context.Context // carries who's tenant

	queue   chan []byte
	stopped chan struct{}
	once    sync.Once
	code    websocket.StatusCode // why it stopped, set before stopped is closed
	reason  string
	now     bool // close without the close handshake

	rooms    map[string]*room
	tokens   float64
	refilled time.Time
}

// newConn returns the connection of who on ws, whose token expires at exp.
func newConn(h *Hub, ws *websocket.Conn, who Claims, exp time.Time) *conn {
	return &conn{
		h: h, ws: ws, who: who, exp: exp,
		ctx:      tenant.With(context.Background(), who.Tenant),
		queue:    make(chan []byte, h.cfg.QueueSize),
		stopped:  make(chan struct{}),
		rooms:    make(map[string]*room),
		tokens:   float64(h.cfg.ControlBurst),
		refilled: time.Now(),
	}
}

// run serves the connection until it ends.
func (c *conn) run() {
	c.ws.SetReadLimit(c.h.cfg.MaxMessageBytes)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.write() }()
	go func() { defer wg.Done(); c.ping() }()
	expiry := time.AfterFunc(time.Until(c.exp), func() { c.stop(websocket.StatusPolicyViolation, "token expired", false) })
	c.read()
	expiry.Stop()
	for _, r := range c.rooms {
		c.h.leave(r, c)
	}
	c.stop(websocket.StatusNormalClosure, "", false)
	wg.Wait()
}

// stop ends the connection with code and reason (without the close
// handshake if now); the first call wins.
func (c *conn) stop(code websocket.StatusCode, reason string, now bool) {
	c.once.Do(func() {
		c.code, c.reason, c.now = code, reason, now
		close(c.stopped)
	})
}

// done reports whether the connection is stopping.
func (c *conn) done() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// send queues frame without waiting; a full queue stops the connection
// with 1013. It reports whether the frame was queued.
func (c *conn) send(frame []byte) bool {
	if c.done() {
		return false
	}
	select {
	case c.queue <- frame:
		return true
	default:
		c.overflow()
		return false
	}
}

// overflow stops a connection that cannot keep up.
func (c *conn) overflow() {
	if !c.done() {
		c.h.slow.Add(1)
		c.h.cfg.Logger.Debug("realtime: slow consumer dropped", "user", c.who.User, "tenant", c.who.Tenant)
	}
	c.stop(websocket.StatusTryAgainLater, "slow consumer", false)
}

// sendMessage queues a room message's frame.
func (c *conn) sendMessage(frame []byte) {
	if c.send(frame) {
		c.h.delivered.Add(1)
	}
}

// sendFrame queues a frame of the protocol.
func (c *conn) sendFrame(f Frame) {
	b, _ := json.Marshal(f) // strings only (a reply has no Data): it cannot fail
	c.send(b)
}

// fail queues an OpError frame.
func (c *conn) fail(room, code, text string) {
	c.sendFrame(Frame{Op: OpError, Room: room, Code: code, Error: text})
}

// write writes the queue until the connection stops, then closes it. A
// watchdog, rather than a context per write (whose timer costs as much as
// the write's system call), bounds each write by WriteTimeout.
func (c *conn) write() {
	defer func() {
		if c.now {
			_ = c.ws.CloseNow()
		} else {
			_ = c.ws.Close(c.code, c.reason)
		}
	}()
	watchdog := time.AfterFunc(c.h.cfg.WriteTimeout, func() {
		c.overflow()
		_ = c.ws.CloseNow() // which ends the write
	})
	watchdog.Stop()
	for {
		if c.done() {
			return
		}
		select {
		case <-c.stopped:
			return
		case b := <-c.queue:
			watchdog.Reset(c.h.cfg.WriteTimeout)
			err := c.ws.Write(context.Background(), websocket.MessageText, b)
			if !watchdog.Stop() || err != nil {
				c.stop(websocket.StatusAbnormalClosure, "", true)
				return
			}
		}
	}
}

// ping pings the client every PingInterval until the connection stops, and
// stops it if a pong does not come within PingTimeout.
func (c *conn) ping() {
	t := time.NewTicker(c.h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stopped:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.PingTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			if !c.done() {
				c.h.unresponsive.Add(1)
				c.h.cfg.Logger.Debug("realtime: unresponsive client dropped", "user", c.who.User, "tenant", c.who.Tenant, "err", err)
			}
			c.stop(websocket.StatusPolicyViolation, "no pong", true)
			return
		}
	}
}

// read handles the client's requests until the connection ends.
func (c *conn) read() {
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.stop(websocket.StatusNormalClosure, "", false)
			return
		}
		if c.done() {
			return
		}
		if !c.allow() {
			c.h.rateLimited.Add(1)
			c.h.cfg.Logger.Debug("realtime: client sending too fast dropped", "user", c.who.User, "tenant", c.who.Tenant)
			c.stop(websocket.StatusPolicyViolation, "too many messages", false)
			return
		}
		var f Frame
		if typ != websocket.MessageText || json.Unmarshal(b, &f) != nil {
			c.fail("", CodeBadRequest, "want a JSON object in a text message")
			continue
		}
		switch f.Op {
		case OpJoin:
			c.join(f.Room, f.Since)
		case OpLeave:
			c.leave(f.Room)
		default:
			c.fail(f.Room, CodeBadRequest, `unknown op: want "join" or "leave"`)
		}
	}
}

// allow takes a token from the connection's bucket, if there is one.
func (c *conn) allow() bool {
	now := time.Now()
	c.tokens = min(float64(c.h.cfg.ControlBurst), c.tokens+now.Sub(c.refilled).Seconds()*c.h.cfg.ControlRate)
	c.refilled = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// join handles a join request.
func (c *conn) join(name, since string) {
	if err := checkRoomName(name); err != nil {
		c.fail(name, CodeInvalidRoom, "invalid room name")
		return
	}
	if c.rooms[name] != nil {
		c.fail(name, CodeAlreadyJoined, "already in the room")
		return
	}
	if len(c.rooms) >= c.h.cfg.MaxRooms {
		c.fail(name, CodeTooManyRooms, "in too many rooms")
		return
	}
	var id ID
	if since != "" {
		var err error
		if id, err = ParseID(since); err != nil {
			c.fail(name, CodeBadRequest, "since: want a message id")
			return
		}
	}
	if err := c.h.cfg.Policy(c.ctx, c.who, name); err != nil {
		c.h.cfg.Logger.Debug("realtime: join refused", "user", c.who.User, "tenant", c.who.Tenant, "room", name, "err", err)
		c.fail(name, CodeForbidden, "not allowed in the room")
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.h.cfg.BusTimeout)
	defer cancel()
	key := Room{Tenant: c.who.Tenant, Name: name}
	r, err := c.h.join(ctx, c, key, id, since == "")
	if err != nil {
		c.h.cfg.Logger.Warn("realtime: join failed", "room", key.String(), "err", err)
		c.fail(name, CodeUnavailable, "the room is unavailable; try again later")
		return
	}
	c.rooms[name] = r
}

// leave handles a leave request.
func (c *conn) leave(name string) {
	r := c.rooms[name]
	if r == nil {
		c.fail(name, CodeNotJoined, "not in the room")
		return
	}
	delete(c.rooms, name)
	c.h.leave(r, c)
	c.sendFrame(Frame{Op: OpLeft, Room: name})
}
