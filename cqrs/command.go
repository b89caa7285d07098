package cqrs

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// ErrNoHandler is returned by Dispatch for a command type that has no
// handler; the error names the type.
var ErrNoHandler = errors.New("cqrs: no handler for command")

// ErrDuplicateHandler is returned by Handle for a command type that
// already has a handler.
var ErrDuplicateHandler = errors.New("cqrs: command already has a handler")

// Dispatcher runs a command: the command bus's Dispatch, and what each
// Middleware wraps.
type Dispatcher func(ctx context.Context, cmd any) error

// Middleware wraps the dispatch of every command: logging, validation,
// retries, authorization, tracing. It calls next to go on.
type Middleware func(next Dispatcher) Dispatcher

// CommandBus routes each command to the one handler of its type.
//
// A command asks for a change and has exactly one handler, which decides
// and returns an error if the change is refused; an event (a Message on
// the EventBus) tells what changed and has any number of subscribers.
// Dispatch runs the handler in the caller's goroutine and returns its
// error.
//
// The methods and Handle are safe for concurrent use; handlers are usually
// registered once at start-up.
type CommandBus struct {
	dispatch Dispatcher // the route wrapped in the middleware

	mu       sync.RWMutex
	handlers map[reflect.Type]func(context.Context, any) error
}

// NewCommandBus returns a bus without handlers whose dispatches go through
// mw, the first the outermost: NewCommandBus(Logging(l), Validation())
// logs commands that fail validation.
func NewCommandBus(mw ...Middleware) *CommandBus {
	b := &CommandBus{handlers: make(map[reflect.Type]func(context.Context, any) error)}
	b.dispatch = b.route
	for i := len(mw) - 1; i >= 0; i-- {
		b.dispatch = mw[i](b.dispatch)
	}
	return b
}

// Handle registers h as the handler of commands of type C. Commands are
// matched by their exact dynamic type: a handler of PlaceOrder does not
// receive *PlaceOrder. It returns ErrDuplicateHandler if C has a handler
// already, and an error if C is an interface type (no command has one as
// its dynamic type).
func Handle[C any](b *CommandBus, h func(ctx context.Context, cmd C) error) error {
	t := reflect.TypeFor[C]()
	if t.Kind() == reflect.Interface {
		return fmt.Errorf("cqrs: handle %v: command type is an interface; register a concrete type", t)
	}
	if h == nil {
		return fmt.Errorf("cqrs: handle %v: nil handler", t)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.handlers[t]; dup {
		return fmt.Errorf("%w: %v", ErrDuplicateHandler, t)
	}
	b.handlers[t] = func(ctx context.Context, cmd any) error { return h(ctx, cmd.(C)) }
	return nil
}

// Dispatch runs cmd through the middleware to the handler of its type and
// returns the handler's error, or an error wrapping ErrNoHandler.
func (b *CommandBus) Dispatch(ctx context.Context, cmd any) error {
	return b.dispatch(ctx, cmd)
}

func (b *CommandBus) route(ctx context.Context, cmd any) error {
	if cmd == nil {
		return errors.New("cqrs: dispatch: nil command")
	}
	b.mu.RLock()
	h := b.handlers[reflect.TypeOf(cmd)]
	b.mu.RUnlock()
	if h == nil {
		return fmt.Errorf("%w %T", ErrNoHandler, cmd)
	}
	return h(ctx, cmd)
}
