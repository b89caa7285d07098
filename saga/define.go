package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Step is one step of a saga over state S: an action, the compensation that undoes
// it, how long one attempt of either may take, and how often each is retried.
type Step[S any] struct {
	// Name identifies the step in the saga's history and in its idempotency keys: a
	// Cassandra-style identifier (letters, digits, underscores), unique in the saga.
	Name string
	// Action does the step's work. It runs at least once: again after an error, a
	// timeout, or the death of the worker running it, always with the same
	// idempotency key (KeyFrom(ctx)). It may change *state; the change is stored
	// with the step's success and is what later steps and compensations see. Its
	// context ends at the attempt's deadline, at the saga's deadline, or when the
	// worker loses the saga. An error made with Permanent stops the retries and
	// starts compensation.
	Action func(ctx context.Context, state *S) error
	// Compensate undoes Action; nil means the step has nothing to undo. It runs at
	// least once for a step whose Action may have had an effect (it succeeded, timed
	// out, or failed with an error that is not Permanent), after the steps that came
	// later were compensated, so it must cope with an Action that never took effect
	// (the barrier package records that for participants).
	Compensate func(ctx context.Context, state *S) error
	// Timeout bounds one attempt of Action or Compensate. Required.
	Timeout time.Duration
	// Retry spaces and bounds the attempts of Action. Its If, when set, says which
	// errors are worth another attempt (Permanent errors never are); nil means every
	// error but a Permanent one. Defaults: 3 attempts, backoff from 100 ms doubling
	// to 10 s with jitter.
	Retry retry.Policy
	// CompensateRetry spaces and bounds the attempts of Compensate; when they run
	// out the saga parks as CompensationFailed. Defaults: 10 attempts, backoff from
	// 200 ms doubling to 30 s with jitter. Permanent does not shorten it: a
	// compensation that cannot be done parks the saga after the last attempt.
	CompensateRetry retry.Policy
}

// Definition describes a saga over state S: its name, its steps in order and an
// optional deadline for the whole saga. Register it with an Orchestrator.
type Definition[S any] struct {
	// Name names the saga (a Cassandra-style identifier); Register refuses a second
	// definition with the same name on one Orchestrator.
	Name string
	// Steps run in order; a failing step compensates the ones before it in reverse.
	Steps []Step[S]
	// Timeout, when positive, bounds the whole saga from its start: once it passes,
	// the step in flight is cut off and the saga compensates.
	Timeout time.Duration
	// Codec serialises the state; nil means JSON (version 1).
	Codec Codec[S]
}

// Validate reports a definition Register would refuse: a bad or duplicate name, no
// steps, a step without an action or a timeout, or an invalid retry policy.
func (d *Definition[S]) Validate() error {
	if d == nil {
		return errors.New("saga: nil definition")
	}
	if err := orm.CheckIdent("saga name", d.Name); err != nil {
		return fmt.Errorf("saga: definition: %w", err)
	}
	if len(d.Steps) == 0 {
		return fmt.Errorf("saga %s: no steps", d.Name)
	}
	if d.Timeout < 0 {
		return fmt.Errorf("saga %s: negative timeout %s", d.Name, d.Timeout)
	}
	seen := map[string]bool{}
	for i, s := range d.Steps {
		if err := orm.CheckIdent("step name", s.Name); err != nil {
			return fmt.Errorf("saga %s: step %d: %w", d.Name, i, err)
		}
		if seen[s.Name] {
			return fmt.Errorf("saga %s: step %s appears twice", d.Name, s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Action == nil:
			return fmt.Errorf("saga %s: step %s has no Action", d.Name, s.Name)
		case s.Timeout <= 0:
			return fmt.Errorf("saga %s: step %s has no Timeout", d.Name, s.Name)
		}
		if err := withDo(s.Retry).Validate(); err != nil {
			return fmt.Errorf("saga %s: step %s: Retry: %w", d.Name, s.Name, err)
		}
		if err := withUndo(s.CompensateRetry).Validate(); err != nil {
			return fmt.Errorf("saga %s: step %s: CompensateRetry: %w", d.Name, s.Name, err)
		}
	}
	return nil
}

// withDo returns an action's policy with its defaults set.
func withDo(p retry.Policy) retry.Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 3
	}
	if p.Backoff == (retry.Backoff{}) {
		p.Backoff = retry.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second}
	}
	if p.If == nil {
		p.If = func(error) bool { return true }
	}
	return p
}

// withUndo returns a compensation's policy with its defaults set.
func withUndo(p retry.Policy) retry.Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 10
	}
	if p.Backoff == (retry.Backoff{}) {
		p.Backoff = retry.Backoff{Initial: 200 * time.Millisecond, Max: 30 * time.Second}
	}
	if p.If == nil {
		p.If = func(error) bool { return true }
	}
	return p
}

// Codec serialises a saga's state. Version is stored with every encoded state, and
// Decode gets the version the state was written with, so a codec can read what an
// older version of the program wrote.
type Codec[S any] interface {
	// Version is the version Encode writes, at least 1.
	Version() int
	// Encode serialises s.
	Encode(s S) ([]byte, error)
	// Decode reads data written by version; an unknown version is an error.
	Decode(version int, data []byte) (S, error)
}

// JSON returns the default codec: encoding/json, version 1.
func JSON[S any]() Codec[S] { return jsonCodec[S]{} }

type jsonCodec[S any] struct{}

func (jsonCodec[S]) Version() int { return 1 }

func (jsonCodec[S]) Encode(s S) ([]byte, error) { return json.Marshal(s) }

func (jsonCodec[S]) Decode(version int, data []byte) (S, error) {
	var s S
	if version != 1 {
		return s, fmt.Errorf("saga: JSON codec: unknown state version %d (want 1)", version)
	}
	err := json.Unmarshal(data, &s)
	return s, err
}
