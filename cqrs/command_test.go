package cqrs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type placeOrder struct {
	OrderID string
	Items   int
}

func (c placeOrder) Validate() error {
	if c.Items <= 0 {
		return errors.New("no items")
	}
	return nil
}

type cancelOrder struct{ OrderID string }

func TestDispatch(t *testing.T) {
	bus := cqrs.NewCommandBus()
	var got []string
	if err := cqrs.Handle(bus, func(_ context.Context, c placeOrder) error {
		got = append(got, "place "+c.OrderID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	if err := cqrs.Handle(bus, func(_ context.Context, c *cancelOrder) error {
		got = append(got, "cancel "+c.OrderID)
		return errRefused
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cmd     any
		want    string // appended to got by the handler
		wantErr error
		errText string
	}{
		{"value type", placeOrder{OrderID: "o1", Items: 1}, "place o1", nil, ""},
		{"pointer type, handler error passed through", &cancelOrder{OrderID: "o2"}, "cancel o2", errRefused, ""},
		{"pointer to a value-registered type", &placeOrder{OrderID: "o3"}, "", cqrs.ErrNoHandler, "*cqrs_test.placeOrder"},
		{"value of a pointer-registered type", cancelOrder{}, "", cqrs.ErrNoHandler, "cqrs_test.cancelOrder"},
		{"unknown type", 42, "", cqrs.ErrNoHandler, "int"},
		{"nil", nil, "", nil, "nil command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			err := bus.Dispatch(t.Context(), tc.cmd)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Dispatch = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && tc.errText == "" && err != nil {
				t.Errorf("Dispatch = %v, want nil", err)
			}
			if tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Errorf("Dispatch = %v, want an error containing %q", err, tc.errText)
			}
			if want := tc.want; (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
				t.Errorf("handler calls = %q, want %q", got, want)
			}
		})
	}
}

func TestHandleErrors(t *testing.T) {
	bus := cqrs.NewCommandBus()
	ok := func(context.Context, placeOrder) error { return nil }
	if err := cqrs.Handle(bus, ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		handle func() error
		is     error
		text   string
	}{
		{"twice", func() error { return cqrs.Handle(bus, ok) }, cqrs.ErrDuplicateHandler, "cqrs_test.placeOrder"},
		{"interface type", func() error {
			return cqrs.Handle(bus, func(context.Context, any) error { return nil })
		}, nil, "interface"},
		{"nil handler", func() error {
			return cqrs.Handle[cancelOrder](bus, nil)
		}, nil, "nil handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.handle()
			if err == nil || !strings.Contains(err.Error(), tc.text) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("Handle = %v, want an error containing %q (is %v)", err, tc.text, tc.is)
			}
		})
	}
}

func TestMiddlewareOrder(t *testing.T) {
	var trace []string
	mark := func(name string) cqrs.Middleware {
		return func(next cqrs.Dispatcher) cqrs.Dispatcher {
			return func(ctx context.Context, cmd any) error {
				trace = append(trace, name+" in")
				err := next(ctx, cmd)
				trace = append(trace, name+" out")
				return err
			}
		}
	}
	bus := cqrs.NewCommandBus(mark("a"), mark("b"))
	_ = cqrs.Handle(bus, func(context.Context, cancelOrder) error { trace = append(trace, "handler"); return nil })
	if err := bus.Dispatch(t.Context(), cancelOrder{}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(trace, ", "), "a in, b in, handler, b out, a out"; got != want {
		t.Fatalf("trace = %s, want %s", got, want)
	}
}

func TestValidation(t *testing.T) {
	bus := cqrs.NewCommandBus(cqrs.Validation())
	calls := 0
	_ = cqrs.Handle(bus, func(context.Context, placeOrder) error { calls++; return nil })
	_ = cqrs.Handle(bus, func(context.Context, cancelOrder) error { calls++; return nil })
	for _, tc := range []struct {
		name      string
		cmd       any
		wantCalls int
		wantText  string
	}{
		{"valid", placeOrder{OrderID: "o1", Items: 2}, 1, ""},
		{"invalid", placeOrder{OrderID: "o1"}, 0, "no items"},
		{"not a Validator", cancelOrder{}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls = 0
			err := bus.Dispatch(t.Context(), tc.cmd)
			if calls != tc.wantCalls {
				t.Errorf("handler ran %d times, want %d", calls, tc.wantCalls)
			}
			if tc.wantText == "" {
				if err != nil {
					t.Errorf("Dispatch = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, cqrs.ErrInvalidCommand) || !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "placeOrder") {
				t.Errorf("Dispatch = %v, want ErrInvalidCommand naming the type and %q", err, tc.wantText)
			}
		})
	}
}

var errConflict = errors.New("concurrency conflict")

func TestRetry(t *testing.T) {
	errOther := errors.New("other")
	fast := retry.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}
	for _, tc := range []struct {
		name        string
		policy      retry.Policy
		errs        []error // the handler's results, in order; nil after the end
		wantCalls   int
		wantErr     error
		cancelAfter int // cancel the context after this many calls; 0: never
	}{
		{"success first time", retry.Policy{If: retry.On(errConflict), Backoff: fast}, nil, 1, nil, 0},
		{"conflict then success", retry.Policy{If: retry.On(errConflict), Backoff: fast}, []error{errConflict, errConflict}, 3, nil, 0},
		{"wrapped conflict retried", retry.Policy{If: retry.On(errConflict), Backoff: fast}, []error{wrap(errConflict)}, 2, nil, 0},
		{"gives up after MaxAttempts", retry.Policy{If: retry.On(errConflict), MaxAttempts: 4, Backoff: fast},
			[]error{errConflict, errConflict, errConflict, errConflict, errConflict}, 4, errConflict, 0},
		{"default MaxAttempts is 3", retry.Policy{If: retry.On(errConflict), Backoff: fast},
			[]error{errConflict, errConflict, errConflict, errConflict}, 3, errConflict, 0},
		{"other errors not retried", retry.Policy{If: retry.On(errConflict), Backoff: fast}, []error{errOther}, 1, errOther, 0},
		{"predicate", retry.Policy{If: func(err error) bool { return err == errOther }, Backoff: fast}, []error{errOther}, 2, nil, 0},
		{"context ends during the wait", retry.Policy{If: retry.On(errConflict), MaxAttempts: 10, Backoff: retry.Backoff{Initial: time.Hour}},
			[]error{errConflict}, 1, context.Canceled, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			mw, err := cqrs.Retry(tc.policy)
			if err != nil {
				t.Fatalf("Retry(%+v): %v", tc.policy, err)
			}
			bus := cqrs.NewCommandBus(mw)
			calls := 0
			_ = cqrs.Handle(bus, func(context.Context, cancelOrder) error {
				calls++
				if calls == tc.cancelAfter {
					cancel()
				}
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			err = bus.Dispatch(ctx, cancelOrder{})
			if calls != tc.wantCalls {
				t.Errorf("handler ran %d times, want %d", calls, tc.wantCalls)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("Dispatch = %v, want %v", err, tc.wantErr)
			}
			if calls > 1 && err != nil && !strings.Contains(err.Error(), "cancelOrder") {
				t.Errorf("Dispatch = %v, want an error naming the command type", err)
			}
		})
	}
}

func wrap(err error) error { return errors.Join(errors.New("append to stream order-1"), err) }

// TestRetryInvalidPolicy: an invalid policy is an error from Retry, not a
// panic (Retry used to panic on a nil If).
func TestRetryInvalidPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    retry.Policy
		text string
	}{
		{"nil If", retry.Policy{}, "If is nil"},
		{"negative attempts", retry.Policy{If: retry.On(errConflict), MaxAttempts: -1}, "negative"},
		{"negative backoff", retry.Policy{If: retry.On(errConflict), Backoff: retry.Backoff{Initial: -time.Second}}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := cqrs.Retry(tc.p)
			if mw != nil || err == nil || !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "cqrs: retry") {
				t.Fatalf("Retry(%+v) = %v, %v; want no middleware and an error containing %q", tc.p, mw != nil, err, tc.text)
			}
		})
	}
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := cqrs.NewCommandBus(cqrs.Logging(l))
	_ = cqrs.Handle(bus, func(context.Context, cancelOrder) error { return nil })
	_ = cqrs.Handle(bus, func(context.Context, placeOrder) error { return errConflict })
	_ = bus.Dispatch(t.Context(), cancelOrder{})
	_ = bus.Dispatch(t.Context(), placeOrder{})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"level=DEBUG msg=\"cqrs: command handled\" command=cqrs_test.cancelOrder duration=",
		"level=ERROR msg=\"cqrs: command failed\" command=cqrs_test.placeOrder duration="} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %s, want it to contain %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "err=\"concurrency conflict\"") {
		t.Errorf("error line lacks the error: %s", lines[1])
	}
}

// TestConcurrentUse registers and dispatches from many goroutines; run
// with -race.
func TestConcurrentUse(t *testing.T) {
	bus := cqrs.NewCommandBus()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_ = cqrs.Handle(bus, func(context.Context, placeOrder) error { return nil })
			for range 100 {
				if err := bus.Dispatch(t.Context(), placeOrder{}); err != nil && !errors.Is(err, cqrs.ErrNoHandler) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestDispatchTenant: the tenant of the Dispatch context reaches the handler
// through every middleware, retries included; no tenant stays no tenant.
func TestDispatchTenant(t *testing.T) {
	retryAll, err := cqrs.Retry(retry.Policy{If: func(error) bool { return true }, MaxAttempts: 3,
		Backoff: retry.Backoff{Initial: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	bus := cqrs.NewCommandBus(cqrs.Logging(slog.New(slog.DiscardHandler)), cqrs.Validation(), retryAll)
	var (
		mu   sync.Mutex
		seen []string // the tenant of each handler call; "-" for none
	)
	if err := cqrs.Handle(bus, func(ctx context.Context, c placeOrder) error {
		id, err := tenant.From(ctx)
		if errors.Is(err, tenant.ErrNoTenant) {
			id = "-"
		}
		mu.Lock()
		seen = append(seen, id)
		attempt := len(seen)
		mu.Unlock()
		if c.OrderID == "retried" && attempt == 1 {
			return errors.New("conflict")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ctx  context.Context
		cmd  placeOrder
		want []string
	}{
		{tenant.With(t.Context(), "acme"), placeOrder{OrderID: "once", Items: 1}, []string{"acme"}},
		{tenant.With(t.Context(), "globex"), placeOrder{OrderID: "retried", Items: 1}, []string{"globex", "globex"}},
		{t.Context(), placeOrder{OrderID: "no-tenant", Items: 1}, []string{"-"}},
	} {
		seen = nil
		if err := bus.Dispatch(tc.ctx, tc.cmd); err != nil {
			t.Fatalf("Dispatch(%s): %v", tc.cmd.OrderID, err)
		}
		if strings.Join(seen, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Dispatch(%s): handler tenants = %v, want %v", tc.cmd.OrderID, seen, tc.want)
		}
	}
}
