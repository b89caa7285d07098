package saga

import "context"

// Direction says whether a call does a step or undoes it.
type Direction string

// The two directions of a step.
const (
	Do   Direction = "do"
	Undo Direction = "undo"
)

// Key is the idempotency key of one step of one saga in one direction. It is the
// same for every attempt, so a participant that stores it can recognise a retry.
type Key struct {
	// Saga is the saga id.
	Saga string
	// Step is the step name.
	Step string
	// Direction is Do for the action, Undo for the compensation.
	Direction Direction
	// Attempt counts this call's attempts from 1. It is not part of the key: use it
	// for logs, never for deduplication.
	Attempt int
}

// Branch is the key without its direction, "<saga>/<step>": what a participant's
// barrier (package saga/barrier) records both directions under.
func (k Key) Branch() string { return k.Saga + "/" + k.Step }

// String is the key's text form, "<saga>/<step>/<do|undo>", for an
// Idempotency-Key header.
func (k Key) String() string { return k.Branch() + "/" + string(k.Direction) }

type keyCtx struct{}

// KeyFrom returns the idempotency key of the step an Action or Compensate runs for.
func KeyFrom(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(keyCtx{}).(Key)
	return k, ok
}

func withKey(ctx context.Context, k Key) context.Context { return context.WithValue(ctx, keyCtx{}, k) }
