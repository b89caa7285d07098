package cqrs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type PlaceOrder struct {
	OrderID string
	Items   int
}

func (c PlaceOrder) Validate() error {
	if c.Items == 0 {
		return errors.New("an order needs items")
	}
	return nil
}

func ExampleCommandBus() {
	bus := cqrs.NewCommandBus(cqrs.Validation())
	err := cqrs.Handle(bus, func(ctx context.Context, c PlaceOrder) error {
		fmt.Printf("placing %s with %d items\n", c.OrderID, c.Items)
		return nil
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println(bus.Dispatch(ctx, PlaceOrder{OrderID: "o-1", Items: 2}))
	fmt.Println(bus.Dispatch(ctx, PlaceOrder{OrderID: "o-2"}))
	fmt.Println(bus.Dispatch(ctx, "not a command"))
	// Output:
	// placing o-1 with 2 items
	// <nil>
	// cqrs: invalid command cqrs_test.PlaceOrder: an order needs items
	// cqrs: no handler for command string
}

// ErrConcurrency stands for the event store's conflict error.
var ErrConcurrency = errors.New("concurrency conflict")

func ExampleRetry() {
	retryConflicts, err := cqrs.Retry(retry.Policy{If: retry.On(ErrConcurrency), MaxAttempts: 5})
	if err != nil {
		panic(err)
	}
	bus := cqrs.NewCommandBus(retryConflicts)
	attempts := 0
	_ = cqrs.Handle(bus, func(ctx context.Context, c PlaceOrder) error {
		// Load the order, decide, append: another writer wins the first
		// two appends.
		attempts++
		if attempts < 3 {
			return fmt.Errorf("append to order %s: %w", c.OrderID, ErrConcurrency)
		}
		return nil
	})
	err = bus.Dispatch(context.Background(), PlaceOrder{OrderID: "o-1", Items: 1})
	fmt.Println(attempts, err)
	// Output: 3 <nil>
}

func ExampleMemoryBus() {
	ctx := context.Background()
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		panic(err)
	}
	defer bus.Close()

	var wg sync.WaitGroup
	wg.Add(3)
	sub, err := bus.Subscribe(ctx, "orders", "billing", func(ctx context.Context, m cqrs.Message) error {
		defer wg.Done()
		fmt.Println(m.Key, m.Type, string(m.Payload))
		return nil // acknowledged
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	err = bus.Publish(ctx, "orders",
		cqrs.Message{Key: "o-1", Type: "order.placed", Payload: []byte(`{"items":2}`)},
		cqrs.Message{Key: "o-1", Type: "order.paid", Payload: []byte(`{"amount":12}`)},
		cqrs.Message{Key: "o-1", Type: "order.shipped", Payload: []byte(`{}`)},
	)
	if err != nil {
		panic(err)
	}
	wg.Wait()
	// Output:
	// o-1 order.placed {"items":2}
	// o-1 order.paid {"amount":12}
	// o-1 order.shipped {}
}

// A handler that can never handle a message says so with Permanent: the
// message moves at once to the poison topic, here "orders.poison", with
// metadata telling why, and the group goes on with the next message.
func ExamplePermanent() {
	ctx := context.Background()
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		panic(err)
	}
	defer bus.Close()

	handled := make(chan string, 1)
	_, err = bus.Subscribe(ctx, "orders", "billing", func(ctx context.Context, m cqrs.Message) error {
		if !json.Valid(m.Payload) {
			return cqrs.Permanent(fmt.Errorf("decode %s: invalid JSON", m.ID))
		}
		handled <- m.Key
		return nil
	})
	if err != nil {
		panic(err)
	}
	poisoned := make(chan cqrs.Message, 1)
	_, err = bus.Subscribe(ctx, "orders.poison", "operators", func(ctx context.Context, m cqrs.Message) error {
		poisoned <- m
		return nil
	})
	if err != nil {
		panic(err)
	}

	err = bus.Publish(ctx, "orders",
		cqrs.Message{ID: "m-1", Key: "o-1", Type: "order.placed", Payload: []byte(`{"items":`)},
		cqrs.Message{ID: "m-2", Key: "o-1", Type: "order.paid", Payload: []byte(`{"amount":12}`)},
	)
	if err != nil {
		panic(err)
	}
	p := <-poisoned
	fmt.Println(p.ID, p.Metadata[cqrs.MetaPoisonGroup], p.Metadata[cqrs.MetaPoisonDeliveries], p.Metadata[cqrs.MetaPoisonError])
	fmt.Println("then handled:", <-handled)
	// Output:
	// m-1 billing 1 cqrs: poison message: decode m-1: invalid JSON
	// then handled: o-1
}

// A message belongs to the tenant of the context it is published under, and
// its handler runs under that tenant; another tenant's message is refused.
func ExampleMetaTenant() {
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		panic(err)
	}
	defer bus.Close()
	done := make(chan struct{})
	sub, err := bus.Subscribe(context.Background(), "orders", "billing", func(ctx context.Context, m cqrs.Message) error {
		id, err := tenant.From(ctx)
		fmt.Println("handled under", id, err, "metadata", m.Metadata[cqrs.MetaTenant])
		close(done)
		return nil
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	ctx := tenant.With(context.Background(), "acme")
	err = bus.Publish(ctx, "orders", cqrs.Message{Metadata: map[string]string{cqrs.MetaTenant: "globex"}})
	fmt.Println(errors.Is(err, tenant.ErrMismatch))
	if err := bus.Publish(ctx, "orders", cqrs.Message{Key: "o-1", Type: "order.placed"}); err != nil {
		panic(err)
	}
	<-done
	// Output:
	// true
	// handled under acme <nil> metadata acme
}
