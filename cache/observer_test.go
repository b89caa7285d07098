package cache_test

import (
	"github.com/cassandraorm/cassandraorm-go/cache"
	"sync"
	"time"
)

// counts is an Observer that counts what it is told.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounts() *counts { return &counts{n: map[string]int{}} }

func (c *counts) add(what string) {
	c.mu.Lock()
	c.n[what]++
	c.mu.Unlock()
}

func (c *counts) get(what string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[what]
}

func (c *counts) Hit(tier string)       { c.add("hit " + tier) }
func (c *counts) Miss(tier string)      { c.add("miss " + tier) }
func (c *counts) Eviction(tier string)  { c.add("eviction " + tier) }
func (c *counts) StaleDrop(tier string) { c.add("stale " + tier) }
func (c *counts) Load(_ time.Duration, o cache.LoadOutcome) {
	c.add("load")
	c.add("load " + o.String())
}
func (c *counts) LoadShared()            { c.add("shared") }
func (c *counts) LockWait(time.Duration) { c.add("lockwait") }
func (c *counts) Bypass()                { c.add("bypass") }
