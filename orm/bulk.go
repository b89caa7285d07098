package orm

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
)

// BulkOptions tune Model.BulkInsert.
type BulkOptions struct {
	// Concurrency is how many inserts run at once (default 16).
	Concurrency int
	// Progress, when set, is called after every ProgressEvery rows (default 1000)
	// and once at the end, with the rows written and failed so far. Calls are
	// serialized.
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
// ends; the report then covers the rows attempted so far.
func (m *Model[T]) BulkInsert(ctx context.Context, rows iter.Seq[T], opts BulkOptions) (BulkReport, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 1000
	}
	var (
		mu      sync.Mutex
		report  BulkReport
		done    atomic.Int64
		wg      sync.WaitGroup
		sem     = make(chan struct{}, opts.Concurrency)
		written atomic.Int64
	)
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(int(written.Load()), len(report.Failed))
		}
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
			err := m.Insert(ctx, &row, opts.Options...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				report.Failed = append(report.Failed, RowError{Index: idx, Err: err})
			} else {
				written.Add(1)
			}
			if n := done.Add(1); n%int64(opts.ProgressEvery) == 0 {
				progress()
			}
		}(i, row)
		i++
	}
	wg.Wait()
	report.Written = int(written.Load())
	mu.Lock()
	progress()
	mu.Unlock()
	return report, ctx.Err()
}
