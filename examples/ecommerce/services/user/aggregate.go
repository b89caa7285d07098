package user

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
)

// Errors of the user domain.
var (
	ErrInvalid       = errors.New("user: invalid")
	ErrAlreadyExists = errors.New("user: already exists")
)

// User is the aggregate: its state is rebuilt from its events.
type User struct {
	eventsourcing.Root[Event]
	Email string
	Name  string
	Bio   string
}

// Apply changes the state for one event.
func (u *User) Apply(e Event) {
	switch e := e.(type) {
	case UserCreated:
		u.Email, u.Name = e.Email, e.Name
	case UserProfileUpdated:
		u.Name, u.Bio = e.Name, e.Bio
	}
}

// Create raises UserCreated on a new aggregate.
func (u *User) Create(email, name string) error {
	if u.StoredVersion() > 0 || len(u.Pending()) > 0 {
		return fmt.Errorf("%w: %s", ErrAlreadyExists, u.ID())
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fmt.Errorf("%w: email %q", ErrInvalid, email)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: empty name", ErrInvalid)
	}
	eventsourcing.Raise[Event](u, UserCreated{UserID: u.ID(), Email: email, Name: name})
	return nil
}

// UpdateProfile raises UserProfileUpdated if anything changes.
func (u *User) UpdateProfile(name, bio string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: empty name", ErrInvalid)
	}
	if name == u.Name && bio == u.Bio {
		return nil
	}
	eventsourcing.Raise[Event](u, UserProfileUpdated{UserID: u.ID(), Name: name, Bio: bio})
	return nil
}
