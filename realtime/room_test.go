package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// A connection reaches only the rooms of its token's tenant that the policy
// admits: a refused join gets an error and no message of the room, and a
// broadcast reaches only its tenant's members.
func TestTenantIsolation(t *testing.T) {
	s := newServer(t, nil, nil)
	a42 := dial(t, s, token(t, "acme", "42"))
	b42 := dial(t, s, token(t, "globex", "42")) // the same user id in another tenant
	aAdmin := dial(t, s, token(t, "acme", "7", "admin"))
	bAdmin := dial(t, s, token(t, "globex", "8", "admin"))

	for _, tc := range []struct {
		c    *client
		room string
		want string // Op, or the error Code
	}{
		{a42, "user:42", realtime.OpJoined},
		{b42, "user:42", realtime.OpJoined},
		{aAdmin, "admin", realtime.OpJoined},
		{bAdmin, "admin", realtime.OpJoined},
		{a42, "user:43", realtime.CodeForbidden},
		{a42, "admin", realtime.CodeForbidden},
		{aAdmin, "user:42", realtime.CodeForbidden},
	} {
		f := tc.c.join(tc.room, "")
		if got := f.Op; got != tc.want && f.Code != tc.want {
			t.Fatalf("join %s: %+v, want %s", tc.room, f, tc.want)
		}
	}

	// Messages the clients must never get, then one each must get.
	broadcast(t, s, "acme", "user:43", "secret", "for 43")
	broadcast(t, s, "globex", "user:42", "secret", "for globex 42")
	broadcast(t, s, "acme", "admin", "secret", "for acme admins")
	broadcast(t, s, "acme", "user:42", "order_status_update", map[string]string{"order": "o-1"})
	broadcast(t, s, "globex", "admin", "alert", "for globex admins")

	for _, tc := range []struct {
		name string
		c    *client
		room string
		typ  string
	}{
		{"acme 42", a42, "user:42", "order_status_update"},
		{"globex admin", bAdmin, "admin", "alert"},
	} {
		got := tc.c.waitMessages(tc.room, 1)
		if len(got) != 1 || got[0].Type != tc.typ {
			t.Errorf("%s got %+v, want one %s", tc.name, got, tc.typ)
		}
		if n := tc.c.received(); n != 1 {
			t.Errorf("%s got %d messages, want 1: %+v", tc.name, n, tc.c.snapshot())
		}
	}
	// The other two clients' rooms had only messages for others, which were
	// broadcast before a last one to each: once that has come, nothing else
	// is on its way.
	broadcast(t, s, "globex", "user:42", "last", nil)
	broadcast(t, s, "acme", "admin", "last", nil)
	for name, c := range map[string]*client{"globex 42": b42, "acme admin": aAdmin} {
		got := c.waitMessages(c.snapshot()[0].Room, 2)
		if got[0].Type != "secret" || got[1].Type != "last" || c.received() != 2 {
			t.Errorf("%s got %+v", name, got)
		}
	}
	// globex 42 got "for globex 42", and acme admin "for acme admins": each
	// its own tenant's, never the other's.
	if d := string(b42.messages("user:42")[0].Data); d != `"for globex 42"` {
		t.Errorf("globex 42 got %s", d)
	}
	if d := string(aAdmin.messages("admin")[0].Data); d != `"for acme admins"` {
		t.Errorf("acme admin got %s", d)
	}
}

// Malformed and refused requests get an error frame, and the connection
// stays usable.
func TestProtocolErrors(t *testing.T) {
	s := newServer(t, nil, func(c *realtime.Config) {
		c.MaxRooms = 2
		c.Policy = func(context.Context, realtime.Claims, string) error { return nil }
	})
	c := dial(t, s, token(t, "acme", "42"))
	if f := c.join("a", ""); f.Op != realtime.OpJoined {
		t.Fatalf("join a: %+v", f)
	}
	for _, tc := range []struct {
		name string
		raw  string // sent as is
		bin  bool   // as a binary message
		code string
	}{
		{"not json", `{"op":`, false, realtime.CodeBadRequest},
		{"binary", `{"op":"join","room":"b"}`, true, realtime.CodeBadRequest},
		{"unknown op", `{"op":"subscribe","room":"b"}`, false, realtime.CodeBadRequest},
		{"invalid room", `{"op":"join","room":"a b"}`, false, realtime.CodeInvalidRoom},
		{"empty room", `{"op":"join"}`, false, realtime.CodeInvalidRoom},
		{"bad since", `{"op":"join","room":"b","since":"yesterday"}`, false, realtime.CodeBadRequest},
		{"joined twice", `{"op":"join","room":"a"}`, false, realtime.CodeAlreadyJoined},
		{"leave not joined", `{"op":"leave","room":"b"}`, false, realtime.CodeNotJoined},
		{"too many rooms", `{"op":"join","room":"b"}{"op":"join","room":"c"}`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == "" {
				if f := c.join("b", ""); f.Op != realtime.OpJoined {
					t.Fatalf("join b: %+v", f)
				}
				if f := c.join("c", ""); f.Code != realtime.CodeTooManyRooms {
					t.Fatalf("join c: %+v, want %s", f, realtime.CodeTooManyRooms)
				}
				return
			}
			n := len(c.snapshot())
			typ := websocket.MessageText
			if tc.bin {
				typ = websocket.MessageBinary
			}
			if err := c.ws.Write(t.Context(), typ, []byte(tc.raw)); err != nil {
				t.Fatal(err)
			}
			f := c.next(n, func(f realtime.Frame) bool { return f.Op == realtime.OpError })
			if f.Code != tc.code {
				t.Fatalf("got %+v, want code %s", f, tc.code)
			}
		})
	}
	n := len(c.snapshot())
	c.send(realtime.Frame{Op: realtime.OpLeave, Room: "a"})
	if f := c.next(n, func(f realtime.Frame) bool { return f.Room == "a" }); f.Op != realtime.OpLeft {
		t.Fatalf("leave a: %+v", f)
	}
	// Left: a message to "a" does not come, one to "b" does.
	broadcast(t, s, "acme", "a", "gone", nil)
	broadcast(t, s, "acme", "b", "here", nil)
	c.waitMessages("b", 1)
	if got := c.messages("a"); len(got) != 0 {
		t.Fatalf("got %+v after leaving a", got)
	}
}

// Broadcast refuses what it cannot send, and a closed hub refuses
// everything.
func TestBroadcastErrors(t *testing.T) {
	s := newServer(t, nil, nil)
	acme := tenant.With(t.Context(), "acme")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		room string
		typ  string
		data any
		want error
	}{
		{"no tenant", t.Context(), "user:42", "t", nil, tenant.ErrNoTenant},
		{"invalid tenant", tenant.With(t.Context(), "Acme"), "user:42", "t", nil, tenant.ErrInvalidID},
		{"invalid room", acme, "user 42", "t", nil, realtime.ErrInvalidRoom},
		{"long room", acme, string(make([]byte, realtime.MaxRoomName+1)), "t", nil, realtime.ErrInvalidRoom},
		{"invalid type", acme, "user:42", "a\nb", nil, realtime.ErrInvalidType},
		{"no type", acme, "user:42", "", nil, realtime.ErrInvalidType},
		{"data not json", acme, "user:42", "t", make(chan int), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.hub.Broadcast(tc.ctx, tc.room, tc.typ, tc.data)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := s.hub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.hub.Broadcast(acme, "user:42", "t", nil); !errors.Is(err, realtime.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// Closing a hub closes its connections with 1001 and refuses new ones.
func TestClose(t *testing.T) {
	s := newServer(t, nil, nil)
	c := dial(t, s, token(t, "acme", "42"))
	c.join("user:42", "")
	if err := s.hub.Close(); err != nil {
		t.Fatal(err)
	}
	if code := c.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %v, want %v", code, websocket.StatusGoingAway)
	}
	_, resp, err := websocket.Dial(t.Context(), s.url, &websocket.DialOptions{HTTPHeader: map[string][]string{"Authorization": {"Bearer " + token(t, "acme", "42")}}})
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("dial after Close: %v (%s), want 503", err, status(resp))
	}
	if st := s.hub.Stats(); st.Connections != 0 || st.Rooms != 0 {
		t.Fatalf("stats after Close: %+v", st)
	}
}

// Messages of one room come in id order, each once.
func TestOrder(t *testing.T) {
	s := newServer(t, nil, nil)
	c := dial(t, s, token(t, "acme", "42"))
	c.join("user:42", "")
	var want []string
	for i := range 50 {
		want = append(want, broadcast(t, s, "acme", "user:42", "n", i).String())
	}
	if got := ids(c.waitMessages("user:42", 50)); !slices.Equal(got, want) {
		t.Fatalf("got ids %v, want %v", got, want)
	}
	for i, f := range c.messages("user:42") {
		if string(f.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d has data %s", i, f.Data)
		}
	}
}
