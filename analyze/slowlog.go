package analyze

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Normalize returns cql with every literal replaced by ?, comments dropped and
// keywords and spacing made uniform, so that statements differing only in their
// values group together. Text that does not lex is returned trimmed.
func Normalize(cql string) string {
	toks, err := lex(cql)
	if err != nil {
		return strings.TrimSpace(cql)
	}
	var b strings.Builder
	prev := token{kind: tPunct, text: "("}
	for i, t := range toks {
		if t.kind == tEOF {
			break
		}
		var s string
		switch t.kind {
		case tString, tNumber, tUUID, tBlob, tDuration, tMarker, tNamed:
			s = "?"
		case tQIdent:
			s = QuoteIdent(t.text)
		case tIdent:
			low := strings.ToLower(t.text)
			if low == "true" || low == "false" || low == "null" {
				s = "?"
			} else if reserved[low] || keywords[low] {
				s = strings.ToUpper(low)
			} else {
				s = low
			}
		default:
			s = t.text
		}
		if i > 0 && space(prev, t) {
			b.WriteByte(' ')
		}
		b.WriteString(s)
		prev = t
	}
	return collapseLists(b.String())
}

// keywords are unreserved keywords written in upper case by Normalize.
var keywords = map[string]bool{"filtering": true, "json": true, "distinct": true, "ttl": true, "timestamp": true, "exists": true,
	"contains": true, "key": true, "per": true, "partition": true, "group": true, "ann": true, "as": true, "values": true, "counter": true, "logged": true, "like": true}

func space(prev, t token) bool {
	switch {
	case t.is(",") || t.is(")") || t.is("]") || t.is("}") || t.is(".") || t.is(";"):
		return false
	case prev.is("(") || prev.is("[") || prev.is("{") || prev.is("."):
		return false
	case t.is("(") && (prev.kind == tIdent || prev.kind == tQIdent) && !prev.is("IN") && !prev.is("VALUES") && !prev.is("AND"):
		return false
	}
	return true
}

// markerLists matches a list of two or more markers: IN (?, ?), [?, ?], {?, ?}.
var markerLists = regexp.MustCompile(`(IN \(|\[|\{)\?(, \?)+`)

// collapseLists writes a list of markers of any length as one, so IN (?, ?, ?) and
// a vector [?, ?, ...] group with their shorter versions.
func collapseLists(s string) string { return markerLists.ReplaceAllString(s, "$1?") }

// SlowLogConfig configures a SlowLog.
type SlowLogConfig struct {
	// MaxStatements bounds the distinct normalised statements kept; when full, the
	// one with the least total time is dropped. Default 1000.
	MaxStatements int
	// Samples is the number of latencies kept per statement for the p99 (a uniform
	// reservoir). Default 512.
	Samples int
}

// Validate fills the defaults and checks the values.
func (c *SlowLogConfig) Validate() error {
	if c.MaxStatements == 0 {
		c.MaxStatements = 1000
	}
	if c.Samples == 0 {
		c.Samples = 512
	}
	if c.MaxStatements < 1 || c.Samples < 1 {
		return fmt.Errorf("analyze: SlowLogConfig: MaxStatements %d and Samples %d must be positive", c.MaxStatements, c.Samples)
	}
	return nil
}

// SlowLog is an orm.Observer that aggregates the statements the ORM runs by their
// normalised text and ranks them by total time, each with its analysis. It is safe
// for concurrent use; its memory is bounded by MaxStatements × Samples.
type SlowLog struct {
	a   *Analyzer
	cfg SlowLogConfig

	mu    sync.Mutex
	stats map[string]*slowStat
}

type slowStat struct {
	text    string
	count   int64
	errors  int64
	total   time.Duration
	samples []time.Duration
	seen    uint64 // for the reservoir
	rng     uint64
	report  *Report
}

var _ orm.Observer = (*SlowLog)(nil)

// NewSlowLog returns a slow-query log that analyses statements with a.
func NewSlowLog(a *Analyzer, cfg SlowLogConfig) (*SlowLog, error) {
	if a == nil {
		return nil, errors.New("analyze: NewSlowLog: nil analyzer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SlowLog{a: a, cfg: cfg, stats: map[string]*slowStat{}}, nil
}

// ObserveQuery records one statement; it analyses a statement the first time it is
// seen (outside the lock).
func (l *SlowLog) ObserveQuery(_ context.Context, e orm.QueryEvent) {
	norm := Normalize(e.Statement)
	l.mu.Lock()
	st := l.stats[norm]
	l.mu.Unlock()
	var rep *Report
	if st == nil {
		rep = l.a.Analyze(e.Statement, Options{})
		rep.Statement = norm
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st = l.stats[norm]; st == nil {
		if len(l.stats) >= l.cfg.MaxStatements {
			l.evict()
		}
		st = &slowStat{text: norm, report: rep, rng: uint64(len(norm))*0x9e3779b97f4a7c15 + 1}
		l.stats[norm] = st
	}
	st.count++
	st.total += e.Latency
	if e.Err != nil {
		st.errors++
	}
	st.seen++
	if len(st.samples) < l.cfg.Samples {
		st.samples = append(st.samples, e.Latency)
	} else {
		st.rng ^= st.rng << 13
		st.rng ^= st.rng >> 7
		st.rng ^= st.rng << 17
		if j := st.rng % st.seen; j < uint64(l.cfg.Samples) {
			st.samples[j] = e.Latency
		}
	}
}

// evict drops the statement with the least total time; l.mu is held.
func (l *SlowLog) evict() {
	var victim *slowStat
	for _, st := range l.stats {
		if victim == nil || st.total < victim.total {
			victim = st
		}
	}
	delete(l.stats, victim.text)
}

// SlowStatement is one normalised statement of a SlowLog.
type SlowStatement struct {
	Statement string        `json:"statement"`
	Count     int64         `json:"count"`
	Errors    int64         `json:"errors"`
	Total     time.Duration `json:"total_ns"`
	Mean      time.Duration `json:"mean_ns"`
	// P99 is the 99th percentile of the sampled latencies.
	P99    time.Duration `json:"p99_ns"`
	Report *Report       `json:"analysis"`
}

// Top returns at most n statements (all when n ≤ 0), by total time, greatest first.
func (l *SlowLog) Top(n int) []SlowStatement {
	l.mu.Lock()
	out := make([]SlowStatement, 0, len(l.stats))
	for _, st := range l.stats {
		s := slices.Clone(st.samples)
		slices.Sort(s)
		p99 := time.Duration(0)
		if len(s) > 0 {
			p99 = s[min(len(s)-1, (len(s)*99+99)/100-1)]
		}
		out = append(out, SlowStatement{Statement: st.text, Count: st.count, Errors: st.errors, Total: st.total,
			Mean: st.total / time.Duration(st.count), P99: p99, Report: st.report})
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b SlowStatement) int {
		if c := cmp.Compare(b.Total, a.Total); c != 0 {
			return c
		}
		return cmp.Compare(a.Statement, b.Statement)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
