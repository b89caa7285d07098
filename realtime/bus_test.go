package realtime_test

import (
	"bufio"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// With Redis unreachable, broadcasts and joins fail with an error and the
// connections stay.
func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, bus, nil)
	c := dial(t, s, token(t, "acme", "42"))
	for range 2 {
		if f := c.join("user:42", ""); f.Code != realtime.CodeUnavailable {
			t.Fatalf("join: %+v, want %s", f, realtime.CodeUnavailable)
		}
	}
	if _, err := s.hub.Broadcast(tenant.With(t.Context(), "acme"), "user:42", "t", nil); err == nil || !strings.Contains(err.Error(), "room acme/user:42") {
		t.Fatalf("broadcast: %v, want an error naming the room", err)
	}
	if st := s.hub.Stats(); st.Connections != 1 || st.Rooms != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// When the hub's pub/sub connection is cut, it comes back and resyncs the
// room: its member gets every message, those published while it was away
// included, once each and in order.
func TestResyncAfterReconnect(t *testing.T) {
	name := "realtime-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + prefix(t)
	bus := newBus(t, func(c *realtime.RedisConfig) { c.Client = namedRedis(t, name) })
	s := newServer(t, bus, nil)
	c := dial(t, s, token(t, "acme", "42"))
	c.join("user:42", "")
	var sent []string
	send := func(n int) {
		for range n {
			sent = append(sent, broadcast(t, s, "acme", "user:42", "n", nil).String())
		}
	}
	send(3)
	c.waitMessages("user:42", 3)

	killPubSub(t, name)
	send(20) // some while the subscription is away
	testenv.WaitUntil(t, wait, "a resync", func() bool { return s.hub.Stats().Resyncs > 0 })
	send(3)
	testenv.WaitFor(t, wait, func() error {
		if got := ids(c.messages("user:42")); !slices.Equal(got, sent) {
			return fmt.Errorf("got %v\nwant %v", got, sent)
		}
		return nil
	})
	if got := ids(c.waitMessages("user:42", len(sent))); !slices.Equal(got, sent) {
		t.Fatalf("got %v\nwant %v", got, sent)
	}
	if n := len(c.messages("user:42")); n != len(sent) {
		t.Fatalf("%d messages, want %d", n, len(sent))
	}
}

// killPubSub kills the pub/sub connections of the clients named name, and
// only those.
func killPubSub(t *testing.T, name string) {
	t.Helper()
	rdb := env.Redis(t)
	list, err := rdb.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		f := map[string]string{}
		for _, kv := range strings.Fields(sc.Text()) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] != name || f["sub"] == "0" {
			continue
		}
		if err := rdb.Do(t.Context(), "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed != 1 {
		t.Fatalf("killed %d pub/sub connections named %s, want 1", killed, name)
	}
}
