package tenanthttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Resolver says whether a tenant may be served. The tenant registry (package
// tenant/registry) implements it with a cache of bounded staleness.
//
// Active is called from every request's goroutine at once: it must be safe for
// concurrent use.
type Resolver interface {
	// Active returns nil when tenant id exists and is active; an error matching
	// tenant.ErrUnknown when no such tenant exists (or it is being deleted); one
	// matching tenant.ErrSuspended when it is suspended; any other error when it
	// could not find out (registry unreachable, timeout). It is given the request's
	// context and a valid id (tenant.Check passed), and should return once ctx ends.
	Active(ctx context.Context, id string) error
}

// ResolverFunc adapts a function to a Resolver, as http.HandlerFunc does for
// handlers.
type ResolverFunc func(ctx context.Context, id string) error

// Active calls f(ctx, id).
func (f ResolverFunc) Active(ctx context.Context, id string) error { return f(ctx, id) }

// Error codes: the "code" of an error body and Error.Code. Clients may match them;
// they do not change.
const (
	CodeMissing     = "missing_tenant"     // 400: the request names no tenant
	CodeInvalid     = "invalid_tenant"     // 400: not a valid id, or more than one label left of the base domain
	CodeAmbiguous   = "ambiguous_tenant"   // 400: host and header (or two header values) name different tenants
	CodeUnknown     = "unknown_tenant"     // 404: the Resolver knows no such tenant
	CodeSuspended   = "suspended_tenant"   // 403: the tenant is suspended
	CodeUnavailable = "tenant_unavailable" // 503: the Resolver could not tell; retry
)

// ErrAmbiguous is the cause (Error.Err) of an ambiguous_tenant response.
var ErrAmbiguous = errors.New("tenanthttp: ambiguous tenant")

// MaxEcho is how many bytes of a tenant id taken from a request an Error (and so a
// response body or a log line) repeats: a longer one is cut there, and "…" appended.
const MaxEcho = 64

// Error is why the middleware refused a request: the err it gives Config.OnError.
// errors.Is sees through it to its cause.
type Error struct {
	// Status is the response's HTTP status: 400, 403, 404 or 503.
	Status int
	// Code is one of the Code constants.
	Code string
	// Message is a sentence for the client. It repeats nothing from the request.
	Message string
	// Tenant is the tenant id as the request gave it, cut to MaxEcho bytes; empty
	// when the request named none, or named two.
	Tenant string
	// Err is the cause: tenant.ErrNoTenant, tenant.ErrInvalidID, ErrAmbiguous, or
	// the Resolver's error (matching tenant.ErrUnknown, tenant.ErrSuspended, or
	// neither for 503).
	Err error
}

// Error names the status, the code and the tenant (quoted), then the cause.
func (e *Error) Error() string {
	if e.Tenant == "" {
		return fmt.Sprintf("tenanthttp: %d %s: %v", e.Status, e.Code, e.Err)
	}
	return fmt.Sprintf("tenanthttp: %d %s %q: %v", e.Status, e.Code, e.Tenant, e.Err)
}

// Unwrap returns the cause, Err.
func (e *Error) Unwrap() error { return e.Err }

// Config configures Middleware. A zero field takes its default; Validate says which
// values are refused.
type Config struct {
	// Resolver says whether a tenant may be served. Required.
	Resolver Resolver
	// BaseDomain, when set (e.g. "shop.example.com"), makes the single label left
	// of it in the request's host the tenant: "acme.shop.example.com:8443" is
	// "acme". Hosts are compared without port and trailing dot, case-insensitively.
	// The base domain itself, and hosts not under it, name no tenant; a host with
	// more than one label left of it is refused. Only r.Host is read: behind a
	// proxy, rewrite it from a trusted forwarded header before this middleware.
	// Empty: the host is not used.
	BaseDomain string
	// Header is the request header that names the tenant (default "X-Tenant-ID").
	// Its value is taken as is: ids are lowercase, so "Acme" is invalid. An empty
	// value names no tenant.
	Header string
	// OnError writes the response to a refused request (default WriteError). err
	// is an *Error. For status 503 the middleware has set "Retry-After: 1" on w
	// before the call. OnError is called from every request's goroutine at once.
	OnError func(w http.ResponseWriter, r *http.Request, status int, err error)
}

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Header == "" {
		c.Header = "X-Tenant-ID"
	}
	if c.OnError == nil {
		c.OnError = WriteError
	}
}

// Validate reports the first field Middleware cannot work with: no Resolver, a
// BaseDomain that is not a domain name (dot-separated labels of letters, digits and
// hyphens, no port, no leading or trailing dot), or a Header that is not a header
// field name. Zero fields count as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	if c.Resolver == nil {
		return errors.New("tenanthttp: Config.Resolver is nil")
	}
	if c.BaseDomain != "" {
		if err := checkDomain(c.BaseDomain); err != nil {
			return fmt.Errorf("tenanthttp: Config.BaseDomain %.80q: %w", c.BaseDomain, err)
		}
	}
	if !isToken(c.Header) {
		return fmt.Errorf("tenanthttp: Config.Header %.80q: not a header field name", c.Header)
	}
	return nil
}

// checkDomain accepts a DNS name of LDH labels (RFC 1123), in any case.
func checkDomain(d string) error {
	if len(d) > 253 {
		return errors.New("longer than 253 bytes")
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		if len(label) > 63 {
			return errors.New("label longer than 63 bytes")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("label starts or ends with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			switch b := label[i]; {
			case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-':
			default:
				return fmt.Errorf("byte %q: want letters, digits, hyphens and dots", b)
			}
		}
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2), as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Middleware returns middleware that puts the tenant of each request into its
// context, or the error of cfg.Validate.
//
// For each request it takes the tenant from the host (Config.BaseDomain) or the
// header (Config.Header), checks it with tenant.Check, and asks Config.Resolver,
// with the request's context, whether it is active. If so it calls the next handler
// with r.WithContext(tenant.With(r.Context(), id)); if not, it calls Config.OnError
// and not the next handler. The middleware keeps no state between requests, so it
// is safe for concurrent use and wraps any http.Handler (any router).
func Middleware(cfg Config) (func(http.Handler) http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	cfg.BaseDomain = strings.ToLower(cfg.BaseDomain)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, e := cfg.resolve(r)
			if e != nil {
				if e.Status == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", "1")
				}
				cfg.OnError(w, r, e.Status, e)
				return
			}
			next.ServeHTTP(w, r.WithContext(tenant.With(r.Context(), id)))
		})
	}, nil
}

// resolve returns the tenant of r, or why r is refused.
func (c *Config) resolve(r *http.Request) (string, *Error) {
	fromHost, e := c.hostTenant(r.Host)
	if e != nil {
		return "", e
	}
	fromHeader := ""
	for i, v := range r.Header.Values(c.Header) {
		if i > 0 && v != fromHeader {
			return "", refuse(http.StatusBadRequest, CodeAmbiguous, "", ErrAmbiguous,
				"ambiguous tenant: the "+c.Header+" header names different tenants")
		}
		fromHeader = v
	}
	if fromHost != "" && fromHeader != "" && fromHost != fromHeader {
		return "", refuse(http.StatusBadRequest, CodeAmbiguous, "", ErrAmbiguous,
			"ambiguous tenant: the host and the "+c.Header+" header name different tenants")
	}
	id := fromHost
	if id == "" {
		id = fromHeader
	}
	if id == "" {
		msg := "no tenant: name it in the " + c.Header + " header"
		if c.BaseDomain != "" {
			msg = "no tenant: name it as a subdomain of " + c.BaseDomain + " or in the " + c.Header + " header"
		}
		return "", refuse(http.StatusBadRequest, CodeMissing, "", tenant.ErrNoTenant, msg)
	}
	// The sentinel, not Check's error: that one repeats the whole id.
	if tenant.Check(id) != nil {
		return "", refuse(http.StatusBadRequest, CodeInvalid, id, tenant.ErrInvalidID,
			fmt.Sprintf("invalid tenant id: want 2 to %d lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit", tenant.MaxIDLen))
	}
	err := c.Resolver.Active(r.Context(), id)
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, tenant.ErrUnknown):
		return "", refuse(http.StatusNotFound, CodeUnknown, id, err, "unknown tenant")
	case errors.Is(err, tenant.ErrSuspended):
		return "", refuse(http.StatusForbidden, CodeSuspended, id, err, "tenant suspended")
	default:
		return "", refuse(http.StatusServiceUnavailable, CodeUnavailable, id, err, "tenant registry unavailable: retry later")
	}
}

// hostTenant returns the single label left of the base domain in host, "" when
// host is not under it or is it, and an error when more than one label is left.
func (c *Config) hostTenant(host string) (string, *Error) {
	if c.BaseDomain == "" || host == "" {
		return "", nil
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	sub, ok := strings.CutSuffix(host, "."+c.BaseDomain)
	if !ok {
		return "", nil
	}
	if sub == "" || strings.Contains(sub, ".") {
		return "", refuse(http.StatusBadRequest, CodeInvalid, sub, tenant.ErrInvalidID,
			"invalid tenant: want a single label left of "+c.BaseDomain)
	}
	return sub, nil
}

// refuse returns the Error of a refused request, its tenant id cut by clip.
func refuse(status int, code, id string, err error, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg, Tenant: clip(id), Err: err}
}

// clip cuts s to at most MaxEcho bytes, at a rune boundary.
func clip(s string) string {
	if len(s) <= MaxEcho {
		return s
	}
	i := MaxEcho
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// body is the JSON of an error response.
type body struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code,omitempty"`
		Message string `json:"message"`
		Tenant  string `json:"tenant,omitempty"`
	} `json:"error"`
}

// WriteError is the default Config.OnError. It writes status and the JSON body
//
//	{"error": {"status": 404, "code": "unknown_tenant", "message": "unknown tenant", "tenant": "acme"}}
//
// with Content-Type application/json and Cache-Control no-store (a tenant's state
// changes; a cached 403 would outlive its suspension). Code, message and tenant are
// err's when err is an *Error; otherwise the body has no code or tenant and the
// message is status's text. "tenant" is left out when empty. A custom OnError may
// log and then call WriteError.
func WriteError(w http.ResponseWriter, _ *http.Request, status int, err error) {
	var b body
	b.Error.Status = status
	b.Error.Message = http.StatusText(status)
	if e, ok := errors.AsType[*Error](err); ok {
		b.Error.Code, b.Error.Message, b.Error.Tenant = e.Code, e.Message, e.Tenant
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The status line is out: an error writing the body cannot be reported.
	_ = json.NewEncoder(w).Encode(b)
}
