package notification

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// EmailConfig configures an Email channel.
type EmailConfig struct {
	// Addr is the SMTP server, "host:port". Required.
	Addr string
	// From is the sender's address, in the envelope and the From header.
	// Required.
	From string
	// Hello is the name the client gives in EHLO. Default "localhost".
	Hello string
	// To returns the address a notification goes to, or "" for none. Default:
	// its Data["email"].
	To func(n Notification) string
	// Name is the channel's name. Default "email".
	Name string
}

func (c *EmailConfig) setDefaults() {
	if c.Hello == "" {
		c.Hello = "localhost"
	}
	if c.To == nil {
		c.To = func(n Notification) string { return n.Data["email"] }
	}
	if c.Name == "" {
		c.Name = "email"
	}
}

// Validate reports an EmailConfig that cannot send: no or a malformed Addr, a
// From that is not an address.
func (c EmailConfig) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("notification: email: Addr %q is not host:port", c.Addr))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("notification: email: From %q: %w", c.From, err))
	}
	if strings.ContainsAny(c.Hello, "\r\n") {
		errs = append(errs, fmt.Errorf("notification: email: Hello %q holds a line break", c.Hello))
	}
	return errors.Join(errs...)
}

// Email is the e-mail channel: one SMTP exchange per delivery (net/smtp),
// without authentication or TLS, for a relay on a trusted network. Each message
// carries a Message-ID made from the notification id and the channel's name
// (see MessageID), the same on every attempt, so that a message sent twice is
// recognisable as one.
type Email struct {
	cfg    EmailConfig
	from   *mail.Address
	domain string
}

// NewEmail builds an Email channel, or returns cfg's Validate error.
func NewEmail(cfg EmailConfig) (*Email, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(cfg.From)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	return &Email{cfg: cfg, from: from, domain: domain}, nil
}

// Name is the channel's name.
func (e *Email) Name() string { return e.cfg.Name }

// Target is the address of EmailConfig.To.
func (e *Email) Target(n Notification) string { return e.cfg.To(n) }

// MessageID is the Message-ID header of n's message on this channel:
// "<hash of id and channel name@From's domain>".
func (e *Email) MessageID(id string) string {
	return "<" + keyHash(id, e.cfg.Name) + "@" + e.domain + ">"
}

// Deliver sends n to address target in one SMTP exchange bounded by ctx. A
// target that is not an address, or a 5xx answer of the server, is permanent;
// a server that cannot be reached, or a 4xx answer, is not. Once the server has
// accepted the message's data, the delivery is made (a failing QUIT after it
// does not count).
func (e *Email) Deliver(ctx context.Context, n Notification, target string) error {
	to, err := mail.ParseAddress(target)
	if err != nil {
		return Permanent(fmt.Errorf("email: address %q: %w", target, err))
	}
	msg := e.message(n, to)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("email: dialing %s: %w", e.cfg.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(e.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return e.fail(ctx, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.cfg.Hello); err != nil {
		return e.fail(ctx, "EHLO", err)
	}
	if err := c.Mail(e.from.Address); err != nil {
		return e.fail(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return e.fail(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return e.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return e.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return e.fail(ctx, "end of DATA", err)
	}
	_ = c.Quit()
	return nil
}

// fail names the SMTP stage of err, makes a 5xx answer permanent and says when
// ctx ended.
func (e *Email) fail(ctx context.Context, stage string, err error) error {
	err = fmt.Errorf("email: %s at %s: %w", stage, e.cfg.Addr, err)
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	if te, ok := errors.AsType[*textproto.Error](err); ok && te.Code >= 500 {
		return Permanent(err)
	}
	return err
}

// message is n as an RFC 5322 message to to.
func (e *Email) message(n Notification, to *mail.Address) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", e.from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", n.Subject))
	h("Date", n.CreatedAt.Format(time.RFC1123Z))
	h("Message-ID", e.MessageID(n.ID))
	h("X-Notification-Kind", n.Kind)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	body := n.Body
	if body == "" {
		body = n.Subject
	}
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}
