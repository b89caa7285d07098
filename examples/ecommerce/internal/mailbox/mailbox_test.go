package mailbox_test

import (
	"net/smtp"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/mailbox"
)

func TestReceives(t *testing.T) {
	mb, err := mailbox.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	msg := "Subject: hello\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n"
	if err := smtp.SendMail(mb.Addr(), nil, "a@x.test", []string{"b@x.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := mb.Messages()
	if len(got) != 1 || got[0].Header.Get("Subject") != "hello" || got[0].From != "a@x.test" ||
		strings.Join(got[0].To, ",") != "b@x.test" || strings.TrimSpace(string(got[0].Body)) != "body" {
		t.Fatalf("got %+v", got)
	}
}
