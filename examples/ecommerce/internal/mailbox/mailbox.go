// Package mailbox is a small SMTP server that keeps what it receives in memory:
// github.com/emersion/go-smtp's server on a TCP address, speaking the protocol
// for real, with a backend that stores each accepted message. The tests of the
// notification service deliver e-mail to one, and a demo can start one so that
// the platform's e-mail has somewhere to go:
//
//	mb, err := mailbox.Start("127.0.0.1:0")
//	...
//	defer mb.Close()
//	cfg.SMTPAddr = mb.Addr()
//	...
//	for _, m := range mb.Messages() { fmt.Println(m.Header.Get("Subject")) }
//
// It accepts every sender and recipient, without authentication or TLS: it is
// for loopback use, never for a network others can reach.
package mailbox

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To are the envelope recipients (RCPT TO).
	To []string
	// Header is the message's parsed header.
	Header mail.Header
	// Body is the message's body, after the header.
	Body []byte
}

// Mailbox is a running SMTP server and the messages it accepted. It is safe for
// concurrent use.
type Mailbox struct {
	srv *smtp.Server
	ln  net.Listener

	mu       sync.Mutex
	messages []Message
	hold     chan struct{} // while not nil, DATA waits for it to close
	arrived  chan struct{} // closed and renewed each time a DATA starts
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves SMTP there
// until Close.
func Start(addr string) (*Mailbox, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailbox: listening on %s: %w", addr, err)
	}
	mb := &Mailbox{ln: ln, arrived: make(chan struct{})}
	mb.srv = smtp.NewServer(backend{mb})
	mb.srv.Domain = "mailbox.localhost"
	go func() { _ = mb.srv.Serve(ln) }()
	return mb, nil
}

// Addr is the address the server listens on, "host:port".
func (mb *Mailbox) Addr() string { return mb.ln.Addr().String() }

// Messages returns a copy of the messages accepted so far, in order.
func (mb *Mailbox) Messages() []Message {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]Message(nil), mb.messages...)
}

// Hold makes every DATA command that starts from now on wait, holding the client
// in the middle of its exchange (the message sent, its answer not yet), until
// Release (or Close). A held message is stored when released even if its client
// hung up meanwhile, as a real server that committed a message before answering
// does: the client cannot know it was delivered.
func (mb *Mailbox) Hold() {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.hold == nil {
		mb.hold = make(chan struct{})
	}
}

// Release lets the held DATA commands, and those to come, go on.
func (mb *Mailbox) Release() {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.hold != nil {
		close(mb.hold)
		mb.hold = nil
	}
}

// DataStarted returns a channel closed when the next DATA command starts.
func (mb *Mailbox) DataStarted() <-chan struct{} {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.arrived
}

// Close stops the server and releases what it held.
func (mb *Mailbox) Close() error {
	mb.Release()
	return mb.srv.Close()
}

type backend struct{ mb *Mailbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{mb: b.mb}, nil
}

type session struct {
	mb   *Mailbox
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	hold := s.mb.hold
	close(s.mb.arrived)
	s.mb.arrived = make(chan struct{})
	s.mb.mu.Unlock()
	if hold != nil {
		<-hold
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "malformed message: " + err.Error()}
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.messages = append(s.mb.messages, Message{From: s.from, To: append([]string(nil), s.to...), Header: msg.Header, Body: body})
	s.mb.mu.Unlock()
	return nil
}
