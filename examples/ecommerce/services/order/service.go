package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

// Config configures the order service.
type Config struct {
	// InventoryURL and PaymentURL are the base URLs of the inventory and payment
	// services, such as http://127.0.0.1:7403. Required.
	InventoryURL, PaymentURL string
	// NotificationURL is the base URL of the notification service (package
	// notification). Optional: when set, send_confirmation asks it to deliver the
	// confirmation (POST /notifications, with the step's idempotency key as the
	// notification's id); when empty, send_confirmation records the notification
	// in the service's own notifications table, for nobody to deliver.
	NotificationURL string
	// HTTPClient calls them; nil means a client without a timeout of its own (each
	// call is bounded by its step's timeout).
	HTTPClient *http.Client
	// ReservationTTL is how long the inventory holds a reservation the saga has not
	// committed (default 10 minutes).
	ReservationTTL time.Duration
	// SagaTimeout bounds a whole order_processing saga (default 5 minutes).
	SagaTimeout time.Duration
	// Timeouts overrides the seed's timeout of the steps it names (see Steps), each
	// at least 100ms: a step not named keeps its seed timeout.
	Timeouts map[string]time.Duration
	// Saga configures the orchestrator (tables, shards, leases, observer, log).
	Saga saga.Config
	// Feed, when set, is the change feed the orders model records its writes in
	// (orm.RecordChanges): every order created, confirmed, cancelled or advanced
	// is a change of table "orders" on it, for subscribers such as the
	// notification service's Watcher. Sync does not sync the feed's own tables:
	// sync its Models. Optional.
	Feed *changefeed.Feed
}

func (c *Config) setDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.ReservationTTL == 0 {
		c.ReservationTTL = 10 * time.Minute
	}
	if c.SagaTimeout == 0 {
		c.SagaTimeout = 5 * time.Minute
	}
	timeouts := make(map[string]time.Duration, len(c.Timeouts)) // the caller's map stays as it is
	for _, st := range Steps() {
		timeouts[st.Name] = st.Timeout
	}
	for name, d := range c.Timeouts {
		timeouts[name] = d
	}
	c.Timeouts = timeouts
}

// Validate reports a Config New would refuse. Zero fields are taken at their
// defaults.
func (c Config) Validate() error {
	c.setDefaults()
	for name, u := range map[string]string{"InventoryURL": c.InventoryURL, "PaymentURL": c.PaymentURL} {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("order: Config.%s %q: want an http or https URL", name, u)
		}
	}
	if u := c.NotificationURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return fmt.Errorf("order: Config.NotificationURL %q: want an http or https URL, or none", u)
	}
	if c.ReservationTTL < time.Second || c.SagaTimeout < time.Second {
		return fmt.Errorf("order: Config.ReservationTTL %s and SagaTimeout %s: want at least 1s", c.ReservationTTL, c.SagaTimeout)
	}
	for name, d := range c.Timeouts {
		switch {
		case !slices.ContainsFunc(Steps(), func(s StepTimeout) bool { return s.Name == name }):
			return fmt.Errorf("order: Config.Timeouts: no step %q in order_processing", name)
		case d < 100*time.Millisecond:
			return fmt.Errorf("order: Config.Timeouts[%q] %s: want at least 100ms", name, d)
		}
	}
	return nil
}

// Service is the order service. It is safe for concurrent use.
type Service struct {
	// Orders holds the orders create_order made.
	Orders *orm.Model[Order]
	// Notifications holds what send_confirmation asked to send, when the service
	// has no NotificationURL.
	Notifications *orm.Model[Notification]
	// Sagas runs order_processing; Run makes the process one of its workers.
	Sagas *saga.Orchestrator
	// Processing is the order_processing saga.
	Processing *saga.Flow[Processing]

	cfg                 Config
	inventory, payments participant
	notifications       participant // base "" without a NotificationURL
}

// New builds the service on db (plain or tenanted). Call Sync once, and Run in
// every process that should process orders.
func New(db *orm.DB, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg,
		inventory:     participant{name: "inventory", base: strings.TrimRight(cfg.InventoryURL, "/"), client: cfg.HTTPClient},
		payments:      participant{name: "payment", base: strings.TrimRight(cfg.PaymentURL, "/"), client: cfg.HTTPClient},
		notifications: participant{name: "notification", base: strings.TrimRight(cfg.NotificationURL, "/"), client: cfg.HTTPClient}}
	var err error
	if s.Orders, err = OrdersModel(db, cfg.Feed); err != nil {
		return nil, err
	}
	if s.Notifications, err = orm.NewModel[Notification](db, orm.TableName("notifications")); err != nil {
		return nil, err
	}
	if s.Sagas, err = saga.New(db, cfg.Saga); err != nil {
		return nil, err
	}
	if s.Processing, err = saga.Register(s.Sagas, s.definition()); err != nil {
		return nil, err
	}
	return s, nil
}

// OrdersModel returns the model of the orders table that New makes, recording
// its changes in feed when feed is not nil. A process that only follows the
// orders' changes (the notification service's Watcher) makes it with the feed
// the order service records in, since a feed delivers a table's changes only
// where a model of it records in the feed.
func OrdersModel(db *orm.DB, feed *changefeed.Feed) (*orm.Model[Order], error) {
	opts := []orm.ModelOption{orm.TableName("orders")}
	if feed != nil {
		opts = append(opts, orm.RecordChanges(feed))
	}
	return orm.NewModel[Order](db, opts...)
}

// Sync creates the service's tables and the saga tables (for ctx's tenant's
// keyspace too, when it has one).
func (s *Service) Sync(ctx context.Context) error {
	if err := s.Orders.DB().Sync(ctx, s.Orders, s.Notifications); err != nil {
		return err
	}
	return s.Sagas.Sync(ctx)
}

// Run processes orders until ctx ends (see saga.Orchestrator.Run).
func (s *Service) Run(ctx context.Context) error { return s.Sagas.Run(ctx) }

// Place validates p and starts its order_processing saga, whose id is the order
// id: placing the same order twice is refused with saga.ErrExists.
func (s *Service) Place(ctx context.Context, p PlaceOrder) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := s.Processing.Start(ctx, Processing{Order: p, Total: p.total()}, saga.WithID(p.OrderID))
	return err
}

// View is what the service says about an order: the order as stored (once
// create_order has run) and where its saga is.
type View struct {
	OrderID string `json:"order_id"`
	// Status is processing while the saga runs, then confirmed, or failed for an
	// order whose saga compensated (Reason says why) or parked.
	Status     string      `json:"status"`
	SagaStatus saga.Status `json:"saga_status"`
	Step       string      `json:"step,omitempty"`
	Reason     string      `json:"reason,omitempty"`
	Payment    string      `json:"payment_status,omitempty"`
	Order      *Order      `json:"order,omitempty"`
}

// Get returns order id's view, or an error matching saga.ErrNotFound for an order
// never placed.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	res, err := s.Processing.Status(ctx, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, res)
}

// Wait waits until order id's saga has ended, and returns its view.
func (s *Service) Wait(ctx context.Context, id string) (View, error) {
	res, err := s.Processing.Wait(ctx, id)
	var oe *saga.OutcomeError
	if err != nil && !errors.As(err, &oe) {
		return View{}, err
	}
	return s.view(ctx, res)
}

func (s *Service) view(ctx context.Context, res saga.Result[Processing]) (View, error) {
	v := View{OrderID: res.ID, SagaStatus: res.Status, Step: res.Step, Reason: res.Reason, Payment: res.State.PaymentStatus}
	switch res.Status {
	case saga.Completed:
		v.Status = StatusConfirmed
	case saga.Compensated, saga.CompensationFailed:
		v.Status = "failed"
	default:
		v.Status = "processing"
	}
	o, err := s.Orders.Get(ctx, res.ID)
	switch {
	case err == nil:
		v.Order = &o
	case !errors.Is(err, orm.ErrNotFound):
		return v, fmt.Errorf("order %s: %w", res.ID, err)
	}
	return v, nil
}
