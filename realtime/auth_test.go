package realtime_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// sign signs claims with HS256 and key k, as a foreign issuer would.
func sign(t *testing.T, k []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A request is upgraded only with a valid token, checked before the upgrade
// (401, no detail), and only from its own or an allowed origin (403).
func TestHandshake(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, nil, func(c *realtime.Config) {
		c.PublicKey = pub
		c.Issuer = "shop"
		c.Audience = "realtime"
		c.AllowedOrigins = []string{"*.shop.example"}
	})
	edOnly := newServer(t, nil, func(c *realtime.Config) { c.HMACKey = nil; c.PublicKey = pub })

	good := realtime.Claims{User: "42", Tenant: "acme", Issuer: "shop", Audience: []string{"realtime"}}
	issue := func(k any, c realtime.Claims) string {
		tok, err := realtime.IssueToken(k, c, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(f func(*realtime.Claims)) realtime.Claims {
		c := good
		f(&c)
		return c
	}
	now := time.Now()
	valid := jwt.MapClaims{"sub": "42", "tenant": "acme", "iss": "shop", "aud": "realtime", "exp": now.Add(time.Minute).Unix()}
	mapWith := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		srv    *server
		header string // Authorization header
		query  string // token query parameter
		origin string
		want   int
	}{
		{name: "bearer header", header: "Bearer " + issue(key, good), want: http.StatusSwitchingProtocols},
		{name: "query parameter", query: issue(key, good), want: http.StatusSwitchingProtocols},
		{name: "ed25519", header: "Bearer " + issue(priv, good), want: http.StatusSwitchingProtocols},
		{name: "ed25519 only hub", srv: edOnly, header: "Bearer " + issue(priv, good), want: http.StatusSwitchingProtocols},
		{name: "hs256 at ed25519 only hub", srv: edOnly, header: "Bearer " + issue(key, good), want: http.StatusUnauthorized},
		{name: "no token", want: http.StatusUnauthorized},
		{name: "not a bearer", header: "Basic " + issue(key, good), want: http.StatusUnauthorized},
		{name: "garbage", header: "Bearer not.a.token", want: http.StatusUnauthorized},
		{name: "other key", header: "Bearer " + issue([]byte(strings.Repeat("x", 32)), good), want: http.StatusUnauthorized},
		{name: "alg none", header: "Bearer " + none, want: http.StatusUnauthorized},
		{name: "expired", header: "Bearer " + sign(t, key, mapWith("exp", now.Add(-time.Minute).Unix())), want: http.StatusUnauthorized},
		{name: "no exp", header: "Bearer " + sign(t, key, mapWith("exp", nil)), want: http.StatusUnauthorized},
		{name: "not yet valid", header: "Bearer " + sign(t, key, mapWith("nbf", now.Add(time.Minute).Unix())), want: http.StatusUnauthorized},
		{name: "foreign claims valid", header: "Bearer " + sign(t, key, valid), want: http.StatusSwitchingProtocols},
		{name: "other issuer", header: "Bearer " + issue(key, with(func(c *realtime.Claims) { c.Issuer = "evil" })), want: http.StatusUnauthorized},
		{name: "no issuer", header: "Bearer " + issue(key, with(func(c *realtime.Claims) { c.Issuer = "" })), want: http.StatusUnauthorized},
		{name: "other audience", header: "Bearer " + issue(key, with(func(c *realtime.Claims) { c.Audience = []string{"billing"} })), want: http.StatusUnauthorized},
		{name: "invalid tenant", header: "Bearer " + sign(t, key, mapWith("tenant", "ACME")), want: http.StatusUnauthorized},
		{name: "no user", header: "Bearer " + sign(t, key, mapWith("sub", nil)), want: http.StatusUnauthorized},
		{name: "huge token", query: strings.Repeat("a", realtime.MaxTokenLen+1), want: http.StatusUnauthorized},
		{name: "cross origin", header: "Bearer " + issue(key, good), origin: "https://evil.example", want: http.StatusForbidden},
		{name: "allowed origin", header: "Bearer " + issue(key, good), origin: "https://app.shop.example", want: http.StatusSwitchingProtocols},
		{name: "own origin", header: "Bearer " + issue(key, good), origin: "http://" + strings.TrimPrefix(s.url, "ws://"), want: http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			if srv == nil {
				srv = s
			}
			u := srv.url
			if tc.query != "" {
				u += "?token=" + url.QueryEscape(tc.query)
			}
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ws, resp, err := websocket.Dial(t.Context(), u, &websocket.DialOptions{HTTPHeader: h})
			if tc.want == http.StatusSwitchingProtocols {
				if err != nil {
					t.Fatalf("dial: %v (%s)", err, status(resp))
				}
				_ = ws.CloseNow()
				return
			}
			if err == nil {
				_ = ws.CloseNow()
				t.Fatalf("upgraded, want %d", tc.want)
			}
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("got %s (%v), want %d", status(resp), err, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				body, _ := io.ReadAll(resp.Body)
				if string(body) != "Unauthorized\n" || resp.Header.Get("WWW-Authenticate") != "Bearer" {
					t.Fatalf("401 with body %q and WWW-Authenticate %q: want no detail", body, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

// IssueToken refuses what could not be checked.
func TestIssueToken(t *testing.T) {
	ok := realtime.Claims{User: "42", Tenant: "acme"}
	for _, tc := range []struct {
		name string
		key  any
		c    realtime.Claims
		ttl  time.Duration
	}{
		{"short key", []byte("short"), ok, time.Minute},
		{"unknown key type", "a string", ok, time.Minute},
		{"no user", key, realtime.Claims{Tenant: "acme"}, time.Minute},
		{"bad tenant", key, realtime.Claims{User: "42", Tenant: "Acme Inc"}, time.Minute},
		{"no ttl", key, ok, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := realtime.IssueToken(tc.key, tc.c, tc.ttl); err == nil {
				t.Fatalf("issued %q", tok)
			}
		})
	}
}

// A connection ends with 1008 when its token expires.
func TestTokenExpiry(t *testing.T) {
	s := newServer(t, nil, nil)
	tok, err := realtime.IssueToken(key, realtime.Claims{User: "42", Tenant: "acme"}, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s, tok)
	if f := c.join("user:42", ""); f.Op != realtime.OpJoined {
		t.Fatalf("join: %+v", f)
	}
	if code := c.closed(); code != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %v, want %v", code, websocket.StatusPolicyViolation)
	}
}
