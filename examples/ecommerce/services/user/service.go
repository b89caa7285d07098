package user

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// CreateUser asks for a new account.
type CreateUser struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
}

// Validate implements cqrs.Validator.
func (c CreateUser) Validate() error {
	if c.UserID == "" {
		return fmt.Errorf("%w: empty user id", ErrInvalid)
	}
	return nil
}

// UpdateUserProfile asks to change a user's name and bio.
type UpdateUserProfile struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Bio    string `json:"bio"`
}

// Profile is the read model: one row per user, kept by the projection.
type Profile struct {
	UserID    string    `cql:"user_id" orm:"pk" json:"user_id"`
	Email     string    `cql:"email" json:"email"`
	Name      string    `cql:"name" json:"name"`
	Bio       string    `cql:"bio" json:"bio"`
	Version   int64     `cql:"version" json:"version"`
	UpdatedAt time.Time `cql:"updated_at" json:"updated_at"`
}

// Service wires the user service: command bus, repository, relay and projection.
type Service struct {
	Commands *cqrs.CommandBus
	Profiles *orm.Model[Profile]

	store     *eventsourcing.Store
	repo      *eventsourcing.Repository[*User, Event]
	projector *eventsourcing.Projector
	pub       cqrs.Publisher
}

// New builds the service on db (its keyspace holds the event store and the read
// model) publishing to pub. Call Sync once, then Run to relay and project.
//
// On a tenanted DB (orm.DB.WithTenancy, or the tenant registry's DB) the service is
// multi-tenant with no change to its code: every command, read, relay and projection
// runs for the tenant of its context, so Run and CatchUp run once per tenant, and
// Sync once for the shared tables plus once for each tenant with a keyspace of its
// own.
func New(db *orm.DB, pub cqrs.Publisher, leases *lease.Manager, cfg eventsourcing.StoreConfig, log *slog.Logger) (*Service, error) {
	reg, err := Registry()
	if err != nil {
		return nil, err
	}
	store, err := eventsourcing.NewStore(db, cfg)
	if err != nil {
		return nil, err
	}
	repo, err := eventsourcing.NewRepository[*User, Event](store, reg, func() *User { return &User{} }, eventsourcing.RepositoryConfig{})
	if err != nil {
		return nil, err
	}
	profiles, err := orm.NewModel[Profile](db, orm.TableName("user_profiles"))
	if err != nil {
		return nil, err
	}
	projector, err := eventsourcing.NewProjector(store, leases, reg, eventsourcing.ProjectorConfig{})
	if err != nil {
		return nil, err
	}
	s := &Service{
		Profiles:  profiles,
		store:     store,
		repo:      repo,
		projector: projector,
		pub:       pub,
	}
	retryConflicts, err := cqrs.Retry(retry.Policy{If: retry.On(eventsourcing.ErrConcurrency), MaxAttempts: 5})
	if err != nil {
		return nil, err
	}
	s.Commands = cqrs.NewCommandBus(cqrs.Logging(log), cqrs.Validation(), retryConflicts)
	if err := cqrs.Handle(s.Commands, s.createUser); err != nil {
		return nil, err
	}
	if err := cqrs.Handle(s.Commands, s.updateProfile); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync creates the service's tables.
func (s *Service) Sync(ctx context.Context) error {
	if err := s.store.Sync(ctx); err != nil {
		return err
	}
	return s.Profiles.DB().Sync(ctx, s.Profiles)
}

func (s *Service) createUser(ctx context.Context, c CreateUser) error {
	u := s.repo.New(c.UserID)
	if err := u.Create(c.Email, c.Name); err != nil {
		return err
	}
	err := s.repo.Save(ctx, u)
	if errors.Is(err, eventsourcing.ErrConcurrency) {
		return fmt.Errorf("%w: %s", ErrAlreadyExists, c.UserID)
	}
	return err
}

func (s *Service) updateProfile(ctx context.Context, c UpdateUserProfile) error {
	u, err := s.repo.Load(ctx, c.UserID)
	if err != nil {
		return err
	}
	if err := u.UpdateProfile(c.Name, c.Bio); err != nil {
		return err
	}
	return s.repo.Save(ctx, u) // a conflict is retried by the command bus
}

// Relay returns the projection that publishes the service's events to Topic.
func (s *Service) Relay() eventsourcing.Projection {
	return s.projector.Relay("user-relay", s.pub, func(r eventsourcing.Record) string {
		if r.Type == "UserCreated" || r.Type == "UserProfileUpdated" {
			return Topic
		}
		return ""
	})
}

// ProfileProjection returns the projection that keeps user_profiles. It sees each
// user's events in order (InStreamOrder), and is idempotent besides: an event older
// than the row's version is ignored.
func (s *Service) ProfileProjection() eventsourcing.Projection {
	return s.projector.InStreamOrder(eventsourcing.Projection{
		Name: "user-profiles",
		Handle: func(ctx context.Context, e eventsourcing.Envelope) error {
			p, err := s.Profiles.Get(ctx, e.Stream)
			switch {
			case errors.Is(err, orm.ErrNotFound):
				p = Profile{UserID: e.Stream}
			case err != nil:
				return err
			}
			if e.Version <= p.Version {
				return nil // seen already: at-least-once delivery
			}
			switch ev := e.Event.(type) {
			case UserCreated:
				p.Email, p.Name = ev.Email, ev.Name
			case UserProfileUpdated:
				p.Name, p.Bio = ev.Name, ev.Bio
			default:
				return nil
			}
			p.Version, p.UpdatedAt = e.Version, e.RecordedAt
			return s.Profiles.Insert(ctx, &p)
		},
	})
}

// Run relays events to the bus and keeps the read model until ctx ends or one of the
// two fails: the first failure stops the other, and Run returns it once both have
// stopped (ctx's error when ctx ended first).
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, proj := range []eventsourcing.Projection{s.Relay(), s.ProfileProjection()} {
		wg.Go(func() {
			if err := s.projector.Run(ctx, proj); err != nil {
				cancel(err) // only the first cause is kept
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// CatchUp relays and projects everything readable now, then returns.
func (s *Service) CatchUp(ctx context.Context) error {
	if err := s.projector.CatchUp(ctx, s.Relay()); err != nil {
		return err
	}
	return s.projector.CatchUp(ctx, s.ProfileProjection())
}
