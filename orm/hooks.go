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
	var h hookSet
	if pt.Implements(reflect.TypeFor[BeforeInserter]()) {
		h.beforeInsert = func(v any, ctx context.Context) error { return v.(BeforeInserter).BeforeInsert(ctx) }
	}
	if pt.Implements(reflect.TypeFor[AfterInserter]()) {
		h.afterInsert = func(v any, ctx context.Context) error { return v.(AfterInserter).AfterInsert(ctx) }
	}
	if pt.Implements(reflect.TypeFor[BeforeUpdater]()) {
		h.beforeUpdate = func(v any, ctx context.Context) error { return v.(BeforeUpdater).BeforeUpdate(ctx) }
	}
	if pt.Implements(reflect.TypeFor[AfterUpdater]()) {
		h.afterUpdate = func(v any, ctx context.Context) error { return v.(AfterUpdater).AfterUpdate(ctx) }
	}
	if pt.Implements(reflect.TypeFor[BeforeDeleter]()) {
		h.beforeDelete = func(v any, ctx context.Context) error { return v.(BeforeDeleter).BeforeDelete(ctx) }
	}
	if pt.Implements(reflect.TypeFor[AfterDeleter]()) {
		h.afterDelete = func(v any, ctx context.Context) error { return v.(AfterDeleter).AfterDelete(ctx) }
	}
	if pt.Implements(reflect.TypeFor[AfterLoader]()) {
		h.afterLoad = func(v any, ctx context.Context) error { return v.(AfterLoader).AfterLoad(ctx) }
	}
	return h
}
