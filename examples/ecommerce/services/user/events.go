// Package user is the e-commerce platform's user service, event-sourced: commands
// (CreateUser, UpdateUserProfile) go through a command bus to handlers that load a
// User aggregate, raise UserCreated / UserProfileUpdated events and save them to the
// Cassandra event store. A relay publishes the events to the "user.events" topic
// (Kafka in production), and a projection keeps the user_profiles read model.
package user

import "github.com/cassandraorm/cassandraorm-go/eventsourcing"

// Topic is where the service publishes its events.
const Topic = "user.events"

// Event is an event of the User aggregate.
type Event interface {
	eventsourcing.Event
	userEvent()
}

// UserCreated records a new account.
type UserCreated struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// UserProfileUpdated records a change of name or bio.
type UserProfileUpdated struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Bio    string `json:"bio"`
}

// EventType implements eventsourcing.Event.
func (UserCreated) EventType() string { return "UserCreated" }

// EventType implements eventsourcing.Event.
func (UserProfileUpdated) EventType() string { return "UserProfileUpdated" }

func (UserCreated) userEvent()        {}
func (UserProfileUpdated) userEvent() {}

// Registry returns the registry of the service's events.
func Registry() (*eventsourcing.Registry, error) {
	reg := eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[UserCreated](reg, 1); err != nil {
		return nil, err
	}
	if err := eventsourcing.Register[UserProfileUpdated](reg, 1); err != nil {
		return nil, err
	}
	return reg, nil
}
