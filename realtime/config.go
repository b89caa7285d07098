package realtime

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"
)

// Config configures a Hub. The zero value of each optional field means its
// documented default.
type Config struct {
	// Bus carries messages between hubs, gives their ids and keeps the
	// rooms' history (a RedisBus). Required.
	Bus Bus

	// HMACKey checks tokens signed with HMAC-SHA256 (HS256); at least 32
	// bytes. PublicKey checks tokens signed with EdDSA (an
	// ed25519.PublicKey) or RS256 (an *rsa.PublicKey). At least one is
	// required; a token signed with any other algorithm is refused.
	HMACKey   []byte
	PublicKey crypto.PublicKey
	// Issuer, if set, is the "iss" every token must carry.
	Issuer string
	// Audience, if set, must be one of the token's "aud".
	Audience string
	// Leeway is the clock skew allowed on "exp", "nbf" and "iat". Default
	// none.
	Leeway time.Duration

	// Policy decides who may join which room. Default DefaultPolicy.
	Policy Policy
	// AllowedOrigins are the browser origins, besides the endpoint's own
	// host, that may open a connection: host patterns ("app.example.com",
	// "*.example.com"), or "scheme://host" patterns, matched with
	// path.Match, case-insensitively. A request without an Origin header (not
	// from a browser) is not checked. Default none.
	AllowedOrigins []string

	// QueueSize is how many messages may wait to be written to one
	// connection; a connection whose queue is full is closed with 1013.
	// Default 256.
	QueueSize int
	// WriteTimeout bounds the writing of one message to a connection; a
	// connection slower than that is closed. Default 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often each connection is pinged; PingTimeout is
	// how long it has to answer before it is closed. Defaults 30 s and
	// 15 s.
	PingInterval, PingTimeout time.Duration
	// MaxMessageBytes bounds a client's message; a longer one closes the
	// connection with 1009. Default 4096.
	MaxMessageBytes int64
	// ControlRate is how many messages per second a client may send,
	// beyond a burst of ControlBurst; a client that sends faster is closed
	// with 1008. Defaults 10 and 20.
	ControlRate  float64
	ControlBurst int
	// MaxRooms is how many rooms one connection may be in. Default 64.
	MaxRooms int
	// BusTimeout bounds each call to the Bus made for a client (a join's
	// history read, say). Default 5 s.
	BusTimeout time.Duration

	// Logger receives the hub's events: refused requests (with the reason
	// the client is not told) and dropped connections, at debug level;
	// bus failures, at warning level. Default slog.Default().
	Logger *slog.Logger
}

// setDefaults replaces the zero fields of c with their defaults.
func (c *Config) setDefaults() {
	if c.Policy == nil {
		c.Policy = DefaultPolicy
	}
	if c.QueueSize == 0 {
		c.QueueSize = 256
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 15 * time.Second
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 4096
	}
	if c.ControlRate == 0 {
		c.ControlRate = 10
	}
	if c.ControlBurst == 0 {
		c.ControlBurst = 20
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 64
	}
	if c.BusTimeout == 0 {
		c.BusTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports what is wrong with c after defaults are applied.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Bus == nil {
		errs = append(errs, errors.New("no Bus"))
	}
	switch k := c.PublicKey.(type) {
	case nil:
		if len(c.HMACKey) == 0 {
			errs = append(errs, errors.New("no HMACKey and no PublicKey: tokens cannot be checked"))
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			errs = append(errs, fmt.Errorf("PublicKey: ed25519 key of %d bytes, want %d", len(k), ed25519.PublicKeySize))
		}
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.BitLen() < 2048 {
			errs = append(errs, errors.New("PublicKey: RSA key below 2048 bits"))
		}
	default:
		errs = append(errs, fmt.Errorf("PublicKey of type %T: want ed25519.PublicKey or *rsa.PublicKey", c.PublicKey))
	}
	if len(c.HMACKey) > 0 && len(c.HMACKey) < minHMACKey {
		errs = append(errs, fmt.Errorf("HMACKey of %d bytes: want at least %d", len(c.HMACKey), minHMACKey))
	}
	for _, p := range c.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			errs = append(errs, fmt.Errorf("AllowedOrigins: pattern %q: want a path.Match pattern", p))
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{{"QueueSize", int64(c.QueueSize)}, {"MaxMessageBytes", c.MaxMessageBytes}, {"ControlBurst", int64(c.ControlBurst)}, {"MaxRooms", int64(c.MaxRooms)}} {
		if n.v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: want at least 1", n.name, n.v))
		}
	}
	if !(c.ControlRate > 0) {
		errs = append(errs, fmt.Errorf("ControlRate %v: want positive", c.ControlRate))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"WriteTimeout", c.WriteTimeout}, {"PingInterval", c.PingInterval}, {"PingTimeout", c.PingTimeout}, {"BusTimeout", c.BusTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: want positive", d.name, d.v))
		}
	}
	if c.Leeway < 0 {
		errs = append(errs, fmt.Errorf("field Leeway %v: want positive or zero", c.Leeway))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realtime: invalid Config: %w", err)
	}
	return nil
}
