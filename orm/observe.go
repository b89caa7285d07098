package orm

import (
	"context"
	"log/slog"
	"time"
)

// QueryEvent describes one statement the ORM ran.
type QueryEvent struct {
	// Table is the table concerned, empty for keyspace statements; for a
	// batch, its tables, comma separated.
	Table string
	// Op is the operation: insert, get, select, update, delete, count, lwt, batch, schema.
	Op string
	// Statement is the CQL text, with bind markers where values went; for a
	// batch, a summary (BEGIN LOGGED BATCH (n statements on t1, t2) APPLY
	// BATCH).
	Statement string
	// Statements are, for a batch, the CQL text of each statement in it, in
	// order, with bind markers (the same text for the same write of a model);
	// nil for other operations.
	Statements []string
	// Latency is the time from sending the statement to the last row read.
	Latency time.Duration
	// Rows is the number of rows read (selects) or written (batches).
	Rows int
	// Err is the error, if any.
	Err error
}

// Observer sees every statement the ORM runs. ObserveQuery is called synchronously on
// the caller's goroutine after the statement finishes, so it must be quick and safe for
// concurrent use.
type Observer interface {
	ObserveQuery(ctx context.Context, e QueryEvent)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e QueryEvent)

// ObserveQuery calls f.
func (f ObserverFunc) ObserveQuery(ctx context.Context, e QueryEvent) { f(ctx, e) }

// SlogObserver logs each statement to l: at Debug level when it succeeds, at Warn
// level when it fails.
func SlogObserver(l *slog.Logger) Observer {
	return ObserverFunc(func(ctx context.Context, e QueryEvent) {
		level := slog.LevelDebug
		attrs := []slog.Attr{
			slog.String("table", e.Table), slog.String("op", e.Op),
			slog.String("cql", e.Statement), slog.Duration("latency", e.Latency),
			slog.Int("rows", e.Rows),
		}
		if e.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.Any("err", e.Err))
		}
		l.LogAttrs(ctx, level, "cql", attrs...)
	})
}

func (db *DB) observe(ctx context.Context, e QueryEvent) {
	if db.observer != nil {
		db.observer.ObserveQuery(ctx, e)
	}
}
