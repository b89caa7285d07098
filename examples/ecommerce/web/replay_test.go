package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/browser"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// replayer stands between a page and the hub and rewrites each join that
// resumes (one with since) to resume from where the page's first join
// started: the real hub then replays messages the page has shown already.
type replayer struct {
	hubURL string // ws://host/ws

	mu        sync.Mutex
	first     string         // the "last" of the first joined frame
	rewritten int            // joins rewritten
	sent      map[string]int // message id: how many times it went to the page
}

func (rp *replayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up, _, err := websocket.Dial(r.Context(), rp.hubURL+"?"+r.URL.RawQuery, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.CloseNow()
	down, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer down.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		for {
			typ, b, err := down.Read(ctx)
			if err != nil {
				return
			}
			var f realtime.Frame
			if json.Unmarshal(b, &f) == nil && f.Op == realtime.OpJoin && f.Since != "" {
				rp.mu.Lock()
				f.Since = rp.first
				rp.rewritten++
				rp.mu.Unlock()
				b, _ = json.Marshal(f)
			}
			if up.Write(ctx, typ, b) != nil {
				return
			}
		}
	}()
	for {
		typ, b, err := up.Read(ctx)
		if err != nil {
			return
		}
		var f realtime.Frame
		if json.Unmarshal(b, &f) == nil {
			rp.mu.Lock()
			switch {
			case f.Op == realtime.OpMessage:
				rp.sent[f.ID]++
			case f.Op == realtime.OpJoined && rp.first == "":
				rp.first = f.Last
			}
			rp.mu.Unlock()
		}
		if down.Write(ctx, typ, b) != nil {
			return
		}
	}
}

// counts returns the joins rewritten and how many times each of ids went
// to the page.
func (rp *replayer) counts(ids ...string) (int, []int) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	n := make([]int, len(ids))
	for i, id := range ids {
		n[i] = rp.sent[id]
	}
	return rp.rewritten, n
}

// A resumed join that replays messages the page has shown already (here
// all since its first join, by a rewritten since) shows each of them once: the
// page drops a message whose id it has.
func TestReplayShownOnce(t *testing.T) {
	s := newSite(t, nil, nil)
	rp := &replayer{hubURL: "ws" + s.URL[len("http"):] + "/ws", sent: make(map[string]int)}
	s.mux.Handle("/ws-replay", rp)
	tn := unique("shop-")
	p := s.open(browser.New(t), "order", "/order", "ws=/ws-replay", token(t, tn, "u1"))
	p.WaitText("#state", "live")
	m1 := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "confirmed"})
	m2 := s.broadcast(tn, "user:u1", web.TypeNotification, map[string]string{"subject": "Order o-1 confirmed"})
	p.WaitCount("#orders li", 1)
	p.WaitCount("#notifications li", 1)

	s.ws.close() // cuts the page's socket to the replayer, and the replayer's to the hub
	p.WaitText("#state", "connecting")
	m3 := s.broadcast(tn, "user:u1", web.TypeOrderStatusUpdate, web.OrderStatusUpdate{OrderID: "o-1", Status: "shipped"})
	s.ws.open()
	p.WaitText("#state", "live")
	p.WaitCount("#orders li", 2)

	rewritten, sent := rp.counts(m1, m2, m3)
	if rewritten == 0 || !slices.Equal(sent, []int{2, 2, 1}) {
		t.Fatalf("%d joins rewritten, messages sent %v times: the test did not replay what it means to", rewritten, sent)
	}
	if got := p.Attrs("#orders li", "data-id"); !slices.Equal(got, []string{m3, m1}) {
		t.Errorf("order ids %v, want %v", got, []string{m3, m1})
	}
	if got := p.Attrs("#notifications li", "data-id"); !slices.Equal(got, []string{m2}) {
		t.Errorf("notification ids %v, want %v", got, []string{m2})
	}
	noViolations(t, p)
	p.Screenshot("replayed")
}
