package orm

import (
	"context"
	"fmt"
	"iter"
	"sync"
)

// BulkOptions tune Model.BulkInsert.
type BulkOptions struct {
	// Concurrency is how many inserts run at once (default 16).
	Concurrency int
	// Progress, when set, is called after every ProgressEvery rows (default 1000)
	// and at the end if rows came after the last call, with the rows written and
	// failed so far. Calls are serialized; a slow one delays the next call, not
	// the writes.
	Progress func(written, failed int)
	// ProgressEvery is the number of rows between Progress calls.
	ProgressEvery int
	// Options apply to every insert (TTL, consistency, ...).
	Options []QueryOption
}

// RowError is the failure of one row of a bulk write.
type RowError struct {
	// Index is the row's position in the input sequence.
	Index int
	// Err is why it failed.
	Err error
}

// BulkReport is the outcome of a bulk write.
type BulkReport struct {
	// Written counts the rows written.
	Written int
	// Failed lists the rows that were not, in no particular order.
	Failed []RowError
}

// BulkInsert inserts every row of rows with bounded concurrency, going on past rows
// that fail and reporting each failure with its index. Each row goes through Insert
// (hooks, validation, unique constraints). The returned error is non-nil only when ctx
// ends, the report then covering the rows attempted so far, or when no row can be
// written (on a tenant-scoped model, a context without a valid tenant), before any.
func (m *Model[T]) BulkInsert(ctx context.Context, rows iter.Seq[T], opts BulkOptions) (BulkReport, error) {
	if _, err := m.scope(ctx, "bulk insert into"); err != nil {
		return BulkReport{}, err
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 1000
	}
	var (
		mu       sync.Mutex // guards report, reported
		report   BulkReport
		reported int        // rows counted at the last Progress call
		progMu   sync.Mutex // serializes Progress calls
		progDone int        // rows counted at the last Progress call made
		wg       sync.WaitGroup
		sem      = make(chan struct{}, opts.Concurrency)
	)
	// progress reports the counts taken under mu; calls are serialized by progMu,
	// outside mu, so a slow callback does not hold up the workers.
	progress := func(written, failed int) {
		if opts.Progress == nil {
			return
		}
		progMu.Lock()
		defer progMu.Unlock()
		if written+failed <= progDone {
			return // a later count was reported already
		}
		progDone = written + failed
		opts.Progress(written, failed)
	}
	insert := func(row *T) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("orm: bulk insert into %s: panic: %v", m.t.Name, r)
			}
		}()
		return m.Insert(ctx, row, opts.Options...)
	}
	i := 0
	for row := range rows {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(idx int, row T) {
			defer func() { <-sem; wg.Done() }()
			err := insert(&row)
			mu.Lock()
			if err != nil {
				report.Failed = append(report.Failed, RowError{Index: idx, Err: err})
			} else {
				report.Written++
			}
			done := report.Written + len(report.Failed)
			due := done%opts.ProgressEvery == 0
			w, f := report.Written, len(report.Failed)
			if due {
				reported = done
			}
			mu.Unlock()
			if due {
				progress(w, f)
			}
		}(i, row)
		i++
	}
	wg.Wait()
	mu.Lock()
	w, f, last := report.Written, len(report.Failed), reported
	mu.Unlock()
	if w+f != last {
		progress(w, f)
	}
	return report, ctx.Err()
}
