package orm

import (
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// QueryOption changes one statement: its TTL, write time, consistency, paging or
// tracing. Options that do not apply to a statement (a TTL on a read) are ignored.
type QueryOption func(*queryOpts)

type queryOpts struct {
	ttl      time.Duration
	hasTTL   bool
	ts       int64
	hasTS    bool
	cons     Consistency
	serial   Consistency
	pageSize int
	tracer   gocql.Tracer
	nulls    bool
	err      error // an option given a value it cannot take
}

// MaxTTL is the longest TTL Cassandra accepts: 20 years.
const MaxTTL = 630720000 * time.Second

// WithTTL makes the written values expire after d. Cassandra counts TTLs in whole
// seconds: a d that is not a whole number of seconds is rounded up, so values never
// expire before d has passed (1ms lives one second). 0 means never, overriding the
// table's default TTL. A negative d, or one above MaxTTL, makes the write fail with
// ErrInvalidValue before anything is sent.
func WithTTL(d time.Duration) QueryOption {
	return func(o *queryOpts) {
		if d < 0 || d > MaxTTL {
			o.err = fmt.Errorf("%w: TTL %s: want 0 (never expire) up to %s", ErrInvalidValue, d, MaxTTL)
			return
		}
		o.ttl, o.hasTTL = (d + time.Second - 1).Truncate(time.Second), true
	}
}

// WithTimestamp sets the write time of the statement (USING TIMESTAMP), in place of
// the coordinator's clock.
func WithTimestamp(t time.Time) QueryOption {
	return func(o *queryOpts) { o.ts, o.hasTS = t.UnixMicro(), true }
}

// WithConsistency sets the consistency level of the statement.
// An unknown level is refused when the statement runs, with ErrInvalidValue.
func WithConsistency(c Consistency) QueryOption {
	return func(o *queryOpts) {
		if err := c.Validate(); err != nil {
			o.err = fmt.Errorf("%w: consistency: %w", ErrInvalidValue, err)
			return
		}
		o.cons = c
	}
}

// WithSerialConsistency sets the serial consistency of a lightweight transaction
// (Serial or LocalSerial; any other level is refused when the statement runs, with
// ErrInvalidValue).
func WithSerialConsistency(c Consistency) QueryOption {
	return func(o *queryOpts) {
		if c != Serial && c != LocalSerial {
			o.err = fmt.Errorf("%w: serial consistency %s: want Serial or LocalSerial", ErrInvalidValue, c)
			return
		}
		o.serial = c
	}
}

// WithPageSize sets how many rows each page of a read fetches.
func WithPageSize(n int) QueryOption { return func(o *queryOpts) { o.pageSize = n } }

// WithTracing traces the statement on the server and hands the trace's id to t, which
// can read it with DB.ReadTrace.
func WithTracing(t Tracer) QueryOption {
	return func(o *queryOpts) {
		if t != nil {
			o.tracer = driverTracer{t}
		}
	}
}

// WithNulls makes Insert and Update write nil pointers, slices and maps as nulls
// (deleting what was there, with a tombstone) instead of leaving those columns unset.
func WithNulls() QueryOption { return func(o *queryOpts) { o.nulls = true } }

func collectOpts(opts []QueryOption) queryOpts {
	if len(opts) == 0 {
		return queryOpts{}
	}
	o := new(queryOpts)
	for _, f := range opts {
		f(o)
	}
	return *o
}

// apply sets the driver-level options on q.
func (o *queryOpts) apply(q *gocql.Query) {
	if o.cons != 0 {
		q.Consistency(o.cons.driver())
	}
	if o.serial != 0 {
		q.SerialConsistency(o.serial.driver())
	}
	if o.pageSize > 0 {
		q.PageSize(o.pageSize)
	}
	if o.tracer != nil {
		q.Trace(o.tracer)
	}
}

// check returns the error of an option that was given a value it cannot take.
func (o *queryOpts) check(table string) error {
	if o.err != nil {
		return fmt.Errorf("orm: %s: %w", table, o.err)
	}
	return nil
}

// using returns the USING clause and its values for a write on table, or the error
// of an option that was given a value it cannot take.
func (o *queryOpts) using(table string) (string, []any, error) {
	ttl := int(o.ttl / time.Second)
	switch {
	case o.err != nil:
		return "", nil, fmt.Errorf("orm: write %s: %w", table, o.err)
	case o.hasTTL && o.hasTS:
		return " USING TTL ? AND TIMESTAMP ?", []any{ttl, o.ts}, nil
	case o.hasTTL:
		return " USING TTL ?", []any{ttl}, nil
	case o.hasTS:
		return " USING TIMESTAMP ?", []any{o.ts}, nil
	}
	return "", nil, nil
}
