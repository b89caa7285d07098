package realtime

import (
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// errUnauthorized: a request carries no valid token. The hub answers it
// with 401 and no detail; the error's text, for its log, says what is
// wrong.
var errUnauthorized = errors.New("realtime: unauthorized")

// MaxTokenLen is the longest token the hub reads.
const MaxTokenLen = 4096

// Claims is what a token says of its holder. In the token (a JWT) they are
// "sub", "tenant", "roles", "iss" and "aud"; IssueToken adds "iat", "nbf"
// and "exp".
type Claims struct {
	// User is the user's id ("sub"). Required.
	User string
	// Tenant is the user's tenant id ("tenant"), a valid tenant id. Required.
	Tenant string
	// Roles are the user's roles ("roles").
	Roles []string
	// Issuer names who issued the token ("iss").
	Issuer string
	// Audience names who the token is for ("aud").
	Audience []string
}

// tokenClaims is Claims as a JWT carries them.
type tokenClaims struct {
	Tenant string   `json:"tenant"`
	Roles  []string `json:"roles,omitempty"`
	jwt.RegisteredClaims
}

// IssueToken signs a token for c, valid from now for ttl. The key chooses
// the algorithm: a []byte of at least 32 bytes signs with HMAC-SHA256
// (HS256), an ed25519.PrivateKey with EdDSA, an *rsa.PrivateKey with RS256.
func IssueToken(key any, c Claims, ttl time.Duration) (string, error) {
	var method jwt.SigningMethod
	switch k := key.(type) {
	case []byte:
		if len(k) < minHMACKey {
			return "", fmt.Errorf("realtime: issue token: HMAC key of %d bytes, want at least %d", len(k), minHMACKey)
		}
		method = jwt.SigningMethodHS256
	case ed25519.PrivateKey:
		method = jwt.SigningMethodEdDSA
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	default:
		return "", fmt.Errorf("realtime: issue token: key of type %T, want []byte, ed25519.PrivateKey or *rsa.PrivateKey", key)
	}
	if err := c.check(); err != nil {
		return "", fmt.Errorf("realtime: issue token: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("realtime: issue token: ttl %v, want positive", ttl)
	}
	now := time.Now()
	tc := tokenClaims{Tenant: c.Tenant, Roles: c.Roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   c.User,
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(method, tc).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("realtime: issue token: %w", err)
	}
	return s, nil
}

// check reports claims without a user or a valid tenant.
func (c Claims) check() error {
	if c.User == "" {
		return errors.New("no user (sub)")
	}
	return tenant.Check(c.Tenant)
}

// minHMACKey is the shortest HMAC key: as long as the SHA-256 output.
const minHMACKey = 32

// verifier checks tokens as a Config says.
type verifier struct {
	parser *jwt.Parser
	hmac   []byte
	ed     ed25519.PublicKey
	rsa    *rsa.PublicKey
}

// newVerifier returns the verifier of c, which has been validated.
func newVerifier(c Config) *verifier {
	v := &verifier{hmac: c.HMACKey}
	var methods []string
	if len(c.HMACKey) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	switch k := c.PublicKey.(type) {
	case ed25519.PublicKey:
		v.ed = k
		methods = append(methods, jwt.SigningMethodEdDSA.Alg())
	case *rsa.PublicKey:
		v.rsa = k
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(c.Leeway)}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v
}

// key returns the key that checks a token signed with t's method.
func (v *verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		return v.hmac, nil
	case *jwt.SigningMethodEd25519:
		return v.ed, nil
	case *jwt.SigningMethodRSA:
		return v.rsa, nil
	}
	return nil, fmt.Errorf("method %s", t.Method.Alg())
}

// request checks the token of r: the Authorization header's bearer token,
// or else the query parameter "token". It returns the claims and when the
// token expires.
func (v *verifier) request(r *http.Request) (Claims, time.Time, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		raw = r.URL.Query().Get("token")
	}
	switch {
	case raw == "":
		return Claims{}, time.Time{}, fmt.Errorf("%w: no token", errUnauthorized)
	case len(raw) > MaxTokenLen:
		return Claims{}, time.Time{}, fmt.Errorf("%w: token of %d bytes, want at most %d", errUnauthorized, len(raw), MaxTokenLen)
	}
	var tc tokenClaims
	if _, err := v.parser.ParseWithClaims(raw, &tc, v.key); err != nil {
		return Claims{}, time.Time{}, fmt.Errorf("%w: %w", errUnauthorized, err)
	}
	c := Claims{User: tc.Subject, Tenant: tc.Tenant, Roles: tc.Roles, Issuer: tc.Issuer, Audience: tc.Audience}
	if err := c.check(); err != nil {
		return Claims{}, time.Time{}, fmt.Errorf("%w: %w", errUnauthorized, err)
	}
	return c, tc.ExpiresAt.Time, nil
}
