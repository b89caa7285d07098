package realtime_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// A client that joins again with the id of the last message it got
// receives what it missed, then OpJoined, then live messages; one whose id
// is older than the history gets OpGap.
func TestResume(t *testing.T) {
	const history = 5
	s := newServer(t, newBus(t, func(c *realtime.RedisConfig) { c.HistorySize = history }), nil)
	tok := token(t, "acme", "42")
	send := func(n int) (out []string) {
		for range n {
			out = append(out, broadcast(t, s, "acme", "user:42", "n", nil).String())
		}
		return out
	}

	c := dial(t, s, tok)
	joined := c.join("user:42", "")
	first := send(3)
	if got := ids(c.waitMessages("user:42", 3)); !slices.Equal(got, first) {
		t.Fatalf("got %v, want %v", got, first)
	}
	_ = c.ws.CloseNow()

	for _, tc := range []struct {
		name    string
		missed  int    // broadcast while away
		since   string // "" for the last id received
		gap     bool
		replays int // messages replayed
	}{
		{name: "nothing missed", missed: 0},
		{name: "some missed", missed: 3, replays: 3},
		{name: "all the history missed", missed: history, replays: history},
		{name: "more than the history", missed: history + 1, gap: true},
		{name: "from the first join", since: joined.Last, gap: true},
		{name: "since beyond the history", since: "18446744073709551615-18446744073709551615"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last := first[len(first)-1]
			if tc.since != "" {
				last = tc.since
			}
			missed := send(tc.missed)
			c := dial(t, s, tok)
			f := c.join("user:42", last)
			msgs := c.messages("user:42")
			switch {
			case tc.gap && f.Op != realtime.OpGap:
				t.Fatalf("join since %s: %+v, want a gap", last, f)
			case tc.gap && len(msgs) != 0:
				t.Fatalf("a gap, and %d messages replayed", len(msgs))
			case !tc.gap && f.Op != realtime.OpJoined:
				t.Fatalf("join since %s: %+v, want joined", last, f)
			case !tc.gap && !slices.Equal(ids(msgs), missed):
				t.Fatalf("replayed %v, want %v", ids(msgs), missed)
			}
			wantLast := first[len(first)-1] // the last message before this join
			if len(missed) > 0 {
				wantLast = missed[len(missed)-1]
			}
			if f.Last != wantLast {
				t.Fatalf("last %s, want %s", f.Last, wantLast)
			}
			live := send(1)
			if got := ids(c.waitMessages("user:42", len(msgs)+1)); !slices.Equal(got, append(ids(msgs), live...)) {
				t.Fatalf("got %v, want the replay then %v", got, live)
			}
			first = live
			_ = c.ws.CloseNow()
		})
	}
}

// A client that joins, leaves and comes back again and again, resuming each
// time, while messages keep coming, gets every message once, in order.
func TestResumeUnderLoad(t *testing.T) {
	bus := newBus(t, nil)
	s := newServer(t, bus, nil)
	other := newServer(t, bus, nil) // the broadcasts go through another hub
	tok := token(t, "acme", "42")
	const total = 300

	var mu sync.Mutex
	var sent []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			id, err := other.hub.Broadcast(tenant.With(context.Background(), "acme"), "user:42", "n", i)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			sent = append(sent, id.String())
			mu.Unlock()
		}
	}()

	var got []string
	last := ""
	start := "" // where the first join starts: what came before is not expected
	for round := 0; ; round++ {
		c := dial(t, s, tok)
		f := c.join("user:42", last)
		if f.Op != realtime.OpJoined {
			t.Fatalf("round %d: join since %q: %+v", round, last, f)
		}
		if round == 0 {
			start = f.Last
		}
		// Take a few messages, then go away without a word.
		testenv.WaitFor(t, wait, func() error {
			select {
			case <-done:
				return nil
			default:
			}
			if n := len(c.messages("user:42")); n < 10 {
				return fmt.Errorf("%d messages in round %d", n, round)
			}
			return nil
		})
		_ = c.ws.CloseNow()
		<-c.done
		for _, m := range c.messages("user:42") {
			got = append(got, m.ID)
			last = m.ID
		}
		if last == "" {
			last = f.Last
		}
		select {
		case <-done:
		default:
			continue
		}
		// The broadcasts are over: one last resume gets the rest.
		c = dial(t, s, tok)
		if f := c.join("user:42", last); f.Op != realtime.OpJoined {
			t.Fatalf("last join: %+v", f)
		}
		mu.Lock()
		want := slices.DeleteFunc(slices.Clone(sent), func(id string) bool { return cmpID(t, id, start) <= 0 })
		mu.Unlock()
		rest := c.waitMessages("user:42", len(want)-len(got))
		got = append(got, ids(rest)...)
		if !slices.Equal(got, want) {
			t.Fatalf("after %d rounds got %d ids, want %d:\ngot  %v\nwant %v", round+1, len(got), len(want), got, want)
		}
		t.Logf("%d messages over %d connections", len(got), round+2)
		return
	}
}

// cmpID compares two id texts.
func cmpID(t *testing.T, a, b string) int {
	t.Helper()
	x, err1 := realtime.ParseID(a)
	y, err2 := realtime.ParseID(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("ids %q, %q: %v %v", a, b, err1, err2)
	}
	return x.Compare(y)
}

// The history of a room expires HistoryTTL after its last message; a
// resume after that reports a gap, even once the room has new messages.
func TestHistoryExpiry(t *testing.T) {
	s := newServer(t, newBus(t, func(c *realtime.RedisConfig) { c.HistoryTTL = 300 * time.Millisecond }), nil)
	tok := token(t, "acme", "42")
	c := dial(t, s, tok)
	c.join("user:42", "")
	old := broadcast(t, s, "acme", "user:42", "n", nil).String()
	c.waitMessages("user:42", 1)
	// Until the history has expired, a resume from old is no gap.
	testenv.WaitFor(t, wait, func() error {
		n := len(c.snapshot())
		c.send(realtime.Frame{Op: realtime.OpLeave, Room: "user:42"})
		c.next(n, func(f realtime.Frame) bool { return f.Op == realtime.OpLeft })
		if f := c.join("user:42", old); f.Op != realtime.OpGap {
			return fmt.Errorf("resume from %s: %s", old, f.Op)
		}
		return nil
	})
	broadcast(t, s, "acme", "user:42", "n", nil)
	c2 := dial(t, s, tok)
	if f := c2.join("user:42", old); f.Op != realtime.OpGap {
		t.Fatalf("resume from %s in the new history: %+v, want a gap", old, f)
	}
}
