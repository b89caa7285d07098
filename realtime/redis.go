package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// RedisConfig configures a RedisBus. The zero value of each optional field
// means its documented default.
type RedisConfig struct {
	// Client is the Redis client. Required. The bus does not close it.
	Client redis.UniversalClient
	// Prefix starts the name of every key and channel of the bus. Default
	// "realtime". Hubs that share rooms must share it.
	Prefix string
	// HistorySize is how many messages each room keeps for clients that
	// resume. Default 256.
	HistorySize int
	// HistoryTTL is how long a room's history is kept after its last
	// message. Default 24 h. Hubs that share rooms must share it: a resume
	// in a room whose history has expired reports a gap unless the client's
	// id is younger than HistoryTTL.
	HistoryTTL time.Duration
	// HealthCheck is how long the subscription waits for traffic before it
	// pings Redis; a ping not answered within another HealthCheck replaces
	// the connection. Default 5 s.
	HealthCheck time.Duration
}

// setDefaults replaces the zero fields of c with their defaults.
func (c *RedisConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "realtime"
	}
	if c.HistorySize == 0 {
		c.HistorySize = 256
	}
	if c.HistoryTTL == 0 {
		c.HistoryTTL = 24 * time.Hour
	}
	if c.HealthCheck == 0 {
		c.HealthCheck = 5 * time.Second
	}
}

// Validate reports what is wrong with c after defaults are applied.
func (c RedisConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("no Client"))
	}
	if strings.ContainsAny(c.Prefix, "{}") {
		errs = append(errs, fmt.Errorf("field Prefix %q: want no braces (they make Redis Cluster hash tags)", c.Prefix))
	}
	if c.HistorySize < 1 {
		errs = append(errs, fmt.Errorf("HistorySize %d: want at least 1", c.HistorySize))
	}
	if c.HistoryTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("HistoryTTL %v: want at least 1 ms", c.HistoryTTL))
	}
	if c.HealthCheck < 0 {
		errs = append(errs, fmt.Errorf("HealthCheck %v: want positive", c.HealthCheck))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realtime: invalid RedisConfig: %w", err)
	}
	return nil
}

// RedisBus is the Bus on Redis. Each room is a Redis stream capped at
// HistorySize entries: XADD gives the ids (the Redis server's clock, so
// they grow across hubs) and keeps the history; each message is also
// published on a channel named like the stream, to which every hub with
// members in the room subscribes. One Lua script does both, so channel
// order is id order.
//
// Beside each stream a key holds its floor: the id of the last message the
// cap dropped, or, for a stream created after a former one expired, the
// creation time less HistoryTTL. A resume from an id below the floor is a
// gap. Both keys expire HistoryTTL after the room's last message.
//
// When Redis is down, Publish, Cursor and Since fail and no message is
// delivered; a subscription reconnects by itself and then resyncs every
// room it listens to, so the hubs' clients get what was published while
// the subscription was away (if it is still in the history).
type RedisBus struct {
	cfg RedisConfig
}

// NewRedisBus returns a Bus on cfg.Client.
func NewRedisBus(cfg RedisConfig) (*RedisBus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &RedisBus{cfg: cfg}, nil
}

// key is room's stream key, also the name of its channel. The hash tag
// keeps the stream and its floor in one Redis Cluster slot; tenant ids
// hold no colon, and room names no brace (checkRoomName), so it parses
// back (see room).
func (b *RedisBus) key(r Room) string {
	return b.cfg.Prefix + ":{" + r.Tenant + ":" + r.Name + "}"
}

// floorKey is the key of room's floor.
func (b *RedisBus) floorKey(r Room) string { return b.key(r) + ":floor" }

// room parses a channel name made by key.
func (b *RedisBus) room(channel string) (Room, bool) {
	s, ok := strings.CutPrefix(channel, b.cfg.Prefix+":{")
	if !ok {
		return Room{}, false
	}
	if s, ok = strings.CutSuffix(s, "}"); !ok {
		return Room{}, false
	}
	t, name, ok := strings.Cut(s, ":")
	return Room{Tenant: t, Name: name}, ok && tenant.Check(t) == nil && checkRoomName(name) == nil
}

// publishScript appends a message to a room's stream (KEYS[1]), keeping
// HistorySize (ARGV[1]) entries; moves the floor (KEYS[2]) past what the cap
// drops, or sets it on a new stream; renews both keys' expiry (ARGV[2] ms);
// and publishes "<id>\n<type>\n<data>" on the stream's channel.
var publishScript = redis.NewScript(`
local size = tonumber(ARGV[1])
local n = redis.call('XLEN', KEYS[1])
if n == 0 then
  local t = redis.call('TIME')
  local floor = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])
  if floor < 0 then floor = 0 end
  redis.call('SET', KEYS[2], string.format('%.0f', floor) .. '-0')
elseif n >= size then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', n - size + 1)
  redis.call('SET', KEYS[2], old[#old][1])
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', size, '*', 't', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PUBLISH', KEYS[1], id .. '\n' .. ARGV[3] .. '\n' .. ARGV[4])
return id
`)

// Publish implements Bus. It runs one script on Redis, so a message is in
// the history and published, or neither; an error from a script that did
// run (a timeout) leaves that unknown.
func (b *RedisBus) Publish(ctx context.Context, room Room, msgType string, data json.RawMessage) (ID, error) {
	keys := []string{b.key(room), b.floorKey(room)}
	s, err := publishScript.Run(ctx, b.cfg.Client, keys, b.cfg.HistorySize, b.cfg.HistoryTTL.Milliseconds(), msgType, []byte(data)).Text()
	if err != nil {
		return ID{}, fmt.Errorf("realtime: publish to room %s: %w", room, err)
	}
	id, err := ParseID(s)
	if err != nil {
		return ID{}, fmt.Errorf("realtime: publish to room %s: redis answered: %w", room, err)
	}
	return id, nil
}

// Cursor implements Bus: the id of the room's last message, or, for a room
// without history, the millisecond before the Redis server's clock (any
// later XADD id is after it).
func (b *RedisBus) Cursor(ctx context.Context, room Room) (ID, error) {
	var last *redis.XMessageSliceCmd
	var now *redis.TimeCmd
	_, err := b.cfg.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		last = p.XRevRangeN(ctx, b.key(room), "+", "-", 1)
		now = p.Time(ctx)
		return nil
	})
	if err != nil {
		return ID{}, fmt.Errorf("realtime: cursor of room %s: %w", room, err)
	}
	return b.last(room, last.Val(), now.Val())
}

// last is the id of the last entry of a stream (its newest entry, from
// XREVRANGE), or before now if it has none.
func (b *RedisBus) last(room Room, newest []redis.XMessage, now time.Time) (ID, error) {
	if len(newest) == 0 {
		return ID{Ms: uint64(max(now.UnixMilli()-1, 0)), Seq: math.MaxUint64}, nil
	}
	id, err := ParseID(newest[0].ID)
	if err != nil {
		return ID{}, fmt.Errorf("realtime: room %s: redis answered: %w", room, err)
	}
	return id, nil
}

// Since implements Bus. It reads the stream, its floor and the server's
// clock in one MULTI, so no trim falls between them.
func (b *RedisBus) Since(ctx context.Context, room Room, since ID) (History, error) {
	var (
		exists *redis.IntCmd
		floor  *redis.StringCmd
		now    *redis.TimeCmd
		after  *redis.XMessageSliceCmd
		last   *redis.XMessageSliceCmd
	)
	_, err := b.cfg.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, b.key(room))
		floor = p.Get(ctx, b.floorKey(room))
		now = p.Time(ctx)
		if since != (ID{Ms: math.MaxUint64, Seq: math.MaxUint64}) { // Redis refuses a range after the last id
			after = p.XRange(ctx, b.key(room), "("+since.String(), "+")
		}
		last = p.XRevRangeN(ctx, b.key(room), "+", "-", 1)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		// A room without a floor: the other commands' errors still count.
		err = errors.Join(exists.Err(), now.Err(), last.Err())
		if after != nil {
			err = errors.Join(err, after.Err())
		}
	}
	if err != nil {
		return History{}, fmt.Errorf("realtime: history of room %s since %s: %w", room, since, err)
	}
	h := History{}
	if h.Last, err = b.last(room, last.Val(), now.Val()); err != nil {
		return History{}, err
	}
	if exists.Val() == 0 {
		// Had a message come after since, the stream would live until at
		// least since + HistoryTTL.
		h.Gap = since.Ms+uint64(b.cfg.HistoryTTL.Milliseconds()) < uint64(now.Val().UnixMilli())
		return h, nil
	}
	f, ferr := ParseID(floor.Val())
	if ferr != nil || f.Compare(since) > 0 {
		// A stream without a floor has lost it (evicted): what it held
		// before is unknown, so it is a gap too.
		h.Gap = true
		return h, nil
	}
	if after == nil {
		return h, nil
	}
	for _, x := range after.Val() {
		m, err := b.message(room, x.ID, x.Values["t"], x.Values["d"])
		if err != nil {
			return History{}, err
		}
		h.Messages = append(h.Messages, m)
	}
	return h, nil
}

// message builds a Message from a stream entry's fields.
func (b *RedisBus) message(room Room, id string, typ, data any) (Message, error) {
	mid, err := ParseID(id)
	t, ok1 := typ.(string)
	d, ok2 := data.(string)
	if err != nil || !ok1 || !ok2 {
		return Message{}, fmt.Errorf("realtime: room %s: malformed stream entry %.40q", room, id)
	}
	return Message{ID: mid, Type: t, Data: json.RawMessage(d)}, nil
}

// Subscribe implements Bus with one Redis pub/sub connection, subscribed to
// the channel of each listened room.
func (b *RedisBus) Subscribe(deliver func(Room, Message), resync func(Room)) (Subscription, error) {
	s := &redisSub{
		bus: b, deliver: deliver, resync: resync,
		ps:      b.cfg.Client.Subscribe(context.Background()),
		chans:   make(map[string]*channelState),
		unsubs:  make(map[string]int),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.run()
	return s, nil
}

// redisSub is a RedisBus subscription.
type redisSub struct {
	bus           *RedisBus
	deliver       func(Room, Message)
	resync        func(Room)
	closing, done chan struct{}
	closeOnce     sync.Once

	mu    sync.Mutex
	ps    *redis.PubSub
	chans map[string]*channelState
	// unsubs counts the UNSUBSCRIBEs of each channel sent on the current
	// connection and not yet confirmed: until they are, a "subscribe"
	// confirmation answers an older SUBSCRIBE.
	unsubs map[string]int
}

// channelState is what a subscription knows of one room's channel.
type channelState struct {
	refs      int
	confirmed bool
	waiters   []chan struct{}
}

// Listen implements Subscription.
func (s *redisSub) Listen(ctx context.Context, room Room) error {
	ch := s.bus.key(room)
	s.mu.Lock()
	st := s.chans[ch]
	if st == nil {
		st = &channelState{}
		s.chans[ch] = st
	}
	st.refs++
	if st.confirmed {
		s.mu.Unlock()
		return nil
	}
	w := make(chan struct{})
	st.waiters = append(st.waiters, w)
	var err error
	if st.refs == 1 {
		err = s.ps.Subscribe(ctx, ch)
	}
	s.mu.Unlock()
	if err == nil {
		select {
		case <-w:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		case <-s.closing:
			err = net.ErrClosed
		}
	}
	s.release(ch)
	return fmt.Errorf("realtime: listen to room %s: %w", room, err)
}

// Unlisten implements Subscription.
func (s *redisSub) Unlisten(ctx context.Context, room Room) error {
	if err := s.releaseCtx(ctx, s.bus.key(room)); err != nil {
		return fmt.Errorf("realtime: unlisten room %s: %w", room, err)
	}
	return nil
}

// release undoes one Listen of channel ch.
func (s *redisSub) release(ch string) { _ = s.releaseCtx(context.Background(), ch) }

func (s *redisSub) releaseCtx(ctx context.Context, ch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chans[ch]
	if st == nil {
		return nil
	}
	if st.refs--; st.refs > 0 {
		return nil
	}
	delete(s.chans, ch)
	s.unsubs[ch]++
	// go-redis forgets the channel even when the command cannot be sent, so
	// it is not subscribed again on reconnection.
	return s.ps.Unsubscribe(ctx, ch)
}

// Close implements Subscription.
func (s *redisSub) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		err = s.ps.Close()
		s.mu.Unlock()
	})
	<-s.done
	return err
}

// run reads the pub/sub connection until Close.
func (s *redisSub) run() {
	defer close(s.done)
	backoff := retry.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}
	failures := 0
	pinged := false
	for {
		s.mu.Lock()
		ps := s.ps
		s.mu.Unlock()
		msg, err := ps.ReceiveTimeout(context.Background(), s.bus.cfg.HealthCheck)
		select {
		case <-s.closing:
			return
		default:
		}
		var ne net.Error
		switch {
		case err == nil:
			failures, pinged = 0, false
			s.handle(msg)
		case errors.As(err, &ne) && ne.Timeout() && !pinged:
			pinged = ps.Ping(context.Background()) == nil
		case errors.As(err, &ne) && ne.Timeout():
			// The ping went unanswered: the connection may be half open.
			s.replace()
			pinged = false
		default:
			// go-redis reconnects (and subscribes again) on the next call;
			// what was in flight on the old connection is lost.
			s.mu.Lock()
			clear(s.unsubs)
			s.mu.Unlock()
			select {
			case <-s.closing:
				return
			case <-time.After(backoff.Delay(failures)):
			}
			failures++
		}
	}
}

// replace swaps the pub/sub connection for a new one subscribed to the
// same channels; their confirmations resync the rooms.
func (s *redisSub) replace() {
	s.mu.Lock()
	old := s.ps
	chans := make([]string, 0, len(s.chans))
	for ch := range s.chans {
		chans = append(chans, ch)
	}
	s.ps = s.bus.cfg.Client.Subscribe(context.Background(), chans...)
	clear(s.unsubs)
	s.mu.Unlock()
	_ = old.Close()
}

// handle acts on what the pub/sub connection read.
func (s *redisSub) handle(msg any) {
	switch m := msg.(type) {
	case *redis.Subscription:
		room, ok := s.bus.room(m.Channel)
		if ok && s.confirm(m.Kind, m.Channel) {
			s.resync(room)
		}
	case *redis.Message:
		room, ok := s.bus.room(m.Channel)
		id, rest, ok1 := strings.Cut(m.Payload, "\n")
		typ, data, ok2 := strings.Cut(rest, "\n")
		if !ok || !ok1 || !ok2 {
			return // not the bus's: the channel is named like a stream of ours
		}
		msg, err := s.bus.message(room, id, typ, data)
		if err != nil {
			return
		}
		s.deliver(room, msg)
	}
}

// confirm records a (un)subscribe confirmation of ch, and reports whether
// it is one of a channel already confirmed: a subscription again after a
// reconnection, which calls for a resync.
func (s *redisSub) confirm(kind, ch string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "unsubscribe":
		if s.unsubs[ch] > 0 {
			s.unsubs[ch]--
		}
		return false
	case "subscribe":
		if s.unsubs[ch] > 0 {
			return false
		}
		st := s.chans[ch]
		if st == nil {
			return false
		}
		if st.confirmed {
			return true
		}
		st.confirmed = true
		for _, w := range st.waiters {
			close(w)
		}
		st.waiters = nil
	}
	return false
}
