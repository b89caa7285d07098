package orm

import (
	"context"
	"reflect"
)

// Hooks are methods on *T that the model calls around its operations. An error from a
// Before hook stops the operation and is returned; an error from an After hook is
// returned after the write has happened.
type (
	// BeforeInserter runs before Insert and InsertIfNotExists, before validation; it
	// may set defaults such as ids and timestamps.
	BeforeInserter interface {
		BeforeInsert(ctx context.Context) error
	}
	// AfterInserter runs after a successful insert.
	AfterInserter interface {
		AfterInsert(ctx context.Context) error
	}
	// BeforeUpdater runs before Update and UpdateIf, before validation.
	BeforeUpdater interface {
		BeforeUpdate(ctx context.Context) error
	}
	// AfterUpdater runs after a successful Update or UpdateIf.
	AfterUpdater interface {
		AfterUpdate(ctx context.Context) error
	}
	// BeforeDeleter runs before Delete and DeleteIf on a value holding only the key.
	BeforeDeleter interface {
		BeforeDelete(ctx context.Context) error
	}
	// AfterDeleter runs after a successful delete on a value holding only the key.
	AfterDeleter interface {
		AfterDelete(ctx context.Context) error
	}
	// AfterLoader runs on every row read, before it is returned.
	AfterLoader interface {
		AfterLoad(ctx context.Context) error
	}
)

// hookSet holds the hooks a model's type has, found once when the model is made so
// the hot path pays a nil check, not an interface assertion.
type hookSet struct {
	beforeInsert, afterInsert, beforeUpdate, afterUpdate func(any, context.Context) error
	beforeDelete, afterDelete, afterLoad                 func(any, context.Context) error
}

func hooksOf(pt reflect.Type) hookSet {
	return hookSet{
		beforeInsert: hook(pt, BeforeInserter.BeforeInsert),
		afterInsert:  hook(pt, AfterInserter.AfterInsert),
		beforeUpdate: hook(pt, BeforeUpdater.BeforeUpdate),
		afterUpdate:  hook(pt, AfterUpdater.AfterUpdate),
		beforeDelete: hook(pt, BeforeDeleter.BeforeDelete),
		afterDelete:  hook(pt, AfterDeleter.AfterDelete),
		afterLoad:    hook(pt, AfterLoader.AfterLoad),
	}
}

// hook returns a call of method m of interface I on a *T, or nil when pt (the *T
// type) does not implement I.
func hook[I any](pt reflect.Type, m func(I, context.Context) error) func(any, context.Context) error {
	if !pt.Implements(reflect.TypeFor[I]()) {
		return nil
	}
	return func(v any, ctx context.Context) error { return m(v.(I), ctx) }
}
