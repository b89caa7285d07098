package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// Timeout bounds every wait of the suite for an expiry. A store that passes
// takes a small fraction of it.
const Timeout = 30 * time.Second

// long is a ttl that does not run out during a test.
const long = 10 * time.Minute

// Run runs the conformance suite as parallel subtests of t, each on a store
// from newStore.
func Run(t *testing.T, newStore func(t *testing.T) cache.Store) {
	if newStore == nil {
		t.Fatal("cachetest.Run: nil constructor")
	}
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s cache.Store, p string)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"TTLExpiry", testTTLExpiry},
		{"InvalidTTL", testInvalidTTL},
		{"Versions", testVersions},
		{"Floors", testFloors},
		{"FloorExpiry", testFloorExpiry},
		{"NegativeEntries", testNegative},
		{"LargeAndEmptyValues", testLargeValues},
		{"KeyEscaping", testKeyEscaping},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t), prefix())
		})
	}
}

// prefix returns a key prefix unique to one subtest run.
func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cachetest-" + hex.EncodeToString(b[:]) + "/"
}

func set(t *testing.T, s cache.Store, key string, e cache.Entry, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.Set(t.Context(), key, e, ttl)
	if err != nil {
		t.Fatalf("%s: Set(%q, version %d): %v", s.Name(), key, e.Version, err)
	}
	if got != want {
		t.Fatalf("%s: Set(%q, version %d) stored = %v, want %v", s.Name(), key, e.Version, got, want)
	}
}

func get(t *testing.T, s cache.Store, key string) (cache.Entry, bool) {
	t.Helper()
	e, ok, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("%s: Get(%q): %v", s.Name(), key, err)
	}
	return e, ok
}

// wantEntry fails t unless key holds value at version.
func wantEntry(t *testing.T, s cache.Store, key string, value []byte, version int64) {
	t.Helper()
	e, ok := get(t, s, key)
	switch {
	case !ok:
		t.Fatalf("%s: Get(%q) missed, want version %d", s.Name(), key, version)
	case e.Version != version || !bytes.Equal(e.Value, value) || e.Negative:
		t.Fatalf("%s: Get(%q) = version %d, value %q, negative %v; want version %d, value %q", s.Name(), key, e.Version, e.Value, e.Negative, version, value)
	}
}

func wantMiss(t *testing.T, s cache.Store, key string) {
	t.Helper()
	if e, ok := get(t, s, key); ok {
		t.Fatalf("%s: Get(%q) = version %d, value %q; want a miss", s.Name(), key, e.Version, e.Value)
	}
}

func testGetSetDelete(t *testing.T, s cache.Store, p string) {
	a, b := p+"a", p+"b"
	wantMiss(t, s, a)
	before := time.Now()
	set(t, s, a, cache.Entry{Value: []byte("one"), Version: 1, Expires: time.Unix(1, 0)}, time.Minute, true)
	wantEntry(t, s, a, []byte("one"), 1)
	e, _ := get(t, s, a)
	// Redis keeps expiries in milliseconds.
	if e.Expires.Before(before.Add(time.Minute).Add(-time.Second)) || e.Expires.After(time.Now().Add(time.Minute).Add(time.Second)) {
		t.Errorf("%s: Expires %v, want about a minute after %v", s.Name(), e.Expires, before)
	}
	set(t, s, a, cache.Entry{Value: []byte("one again"), Version: 1}, long, true)
	wantEntry(t, s, a, []byte("one again"), 1)
	set(t, s, b, cache.Entry{Value: []byte("two"), Version: 2}, long, true)
	if err := s.Delete(t.Context(), a, b, p+"absent"); err != nil {
		t.Fatalf("%s: Delete: %v", s.Name(), err)
	}
	wantMiss(t, s, a)
	wantMiss(t, s, b)
	if err := s.Delete(t.Context()); err != nil {
		t.Fatalf("%s: Delete of no keys: %v", s.Name(), err)
	}
	// Delete leaves no floor.
	set(t, s, a, cache.Entry{Value: []byte("zero"), Version: 0}, long, true)
	wantEntry(t, s, a, []byte("zero"), 0)
}

func testTTLExpiry(t *testing.T, s cache.Store, p string) {
	k := p + "short"
	set(t, s, k, cache.Entry{Value: []byte("v"), Version: 1}, 50*time.Millisecond, true)
	set(t, s, p+"long", cache.Entry{Value: []byte("v"), Version: 1}, long, true)
	testenv.WaitUntil(t, Timeout, "the 50ms entry has expired", func() bool {
		_, ok := get(t, s, k)
		return !ok
	})
	wantEntry(t, s, p+"long", []byte("v"), 1)
	// An expired entry's version does not refuse older values.
	set(t, s, k, cache.Entry{Value: []byte("older"), Version: 0}, long, true)
}

func testInvalidTTL(t *testing.T, s cache.Store, p string) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if ok, err := s.Set(t.Context(), p+"k", cache.Entry{Version: 1}, ttl); err == nil || ok {
			t.Errorf("%s: Set with ttl %v = %v, %v; want an error", s.Name(), ttl, ok, err)
		}
		if err := s.Invalidate(t.Context(), p+"k", 1, ttl); err == nil {
			t.Errorf("%s: Invalidate with floor ttl %v: no error", s.Name(), ttl)
		}
	}
	wantMiss(t, s, p+"k")
}

func testVersions(t *testing.T, s cache.Store, p string) {
	k := p + "v"
	for _, step := range []struct {
		version int64
		stored  bool
	}{
		{math.MinInt64, true},
		{-10, true},
		{-11, false},
		{0, true},
		{5, true},
		{4, false},
		{5, true}, // the same version replaces
		{1<<53 + 1, true},
		{1 << 53, false}, // beyond float64's exact integers
		{math.MaxInt64, true},
		{math.MaxInt64 - 1, false},
	} {
		val := []byte(fmt.Sprint(step.version))
		set(t, s, k, cache.Entry{Value: val, Version: step.version}, long, step.stored)
		if step.stored {
			wantEntry(t, s, k, val, step.version)
		}
	}
	wantEntry(t, s, k, []byte(fmt.Sprint(int64(math.MaxInt64))), math.MaxInt64)
}

func testFloors(t *testing.T, s cache.Store, p string) {
	ctx := t.Context()
	k := p + "f"
	set(t, s, k, cache.Entry{Value: []byte("v1"), Version: 1}, long, true)
	if err := s.Invalidate(ctx, k, 5, long); err != nil {
		t.Fatalf("%s: Invalidate: %v", s.Name(), err)
	}
	wantMiss(t, s, k)
	set(t, s, k, cache.Entry{Value: []byte("v4"), Version: 4}, long, false)
	wantMiss(t, s, k)
	set(t, s, k, cache.Entry{Value: []byte("v5"), Version: 5}, long, true)
	wantEntry(t, s, k, []byte("v5"), 5)
	// A lower invalidation deletes the entry but does not lower the floor.
	if err := s.Invalidate(ctx, k, 3, long); err != nil {
		t.Fatalf("%s: Invalidate: %v", s.Name(), err)
	}
	wantMiss(t, s, k)
	set(t, s, k, cache.Entry{Value: []byte("v4"), Version: 4}, long, false)
	set(t, s, k, cache.Entry{Value: []byte("v7"), Version: 7}, long, true)
	// A floor on a key that holds nothing, and negative versions.
	n := p + "neg"
	if err := s.Invalidate(ctx, n, -5, long); err != nil {
		t.Fatalf("%s: Invalidate: %v", s.Name(), err)
	}
	set(t, s, n, cache.Entry{Value: []byte("-6"), Version: -6}, long, false)
	set(t, s, n, cache.Entry{Value: []byte("-5"), Version: -5, Negative: true}, long, true)
	// Floors are per key.
	set(t, s, p+"other", cache.Entry{Value: []byte("v0"), Version: 0}, long, true)
}

func testFloorExpiry(t *testing.T, s cache.Store, p string) {
	k := p + "fe"
	if err := s.Invalidate(t.Context(), k, 100, 50*time.Millisecond); err != nil {
		t.Fatalf("%s: Invalidate: %v", s.Name(), err)
	}
	set(t, s, k, cache.Entry{Value: []byte("old"), Version: 1}, long, false)
	testenv.WaitFor(t, Timeout, func() error {
		ok, err := s.Set(t.Context(), k, cache.Entry{Value: []byte("old"), Version: 1}, long)
		if err != nil || !ok {
			return fmt.Errorf("%s: Set below an expired floor: stored %v, error %v", s.Name(), ok, err)
		}
		return nil
	})
	wantEntry(t, s, k, []byte("old"), 1)
}

func testNegative(t *testing.T, s cache.Store, p string) {
	k := p + "n"
	set(t, s, k, cache.Entry{Negative: true, Version: 3}, long, true)
	e, ok := get(t, s, k)
	if !ok || !e.Negative || e.Version != 3 || len(e.Value) != 0 {
		t.Fatalf("%s: Get(%q) = %+v, %v; want a negative entry of version 3", s.Name(), k, e, ok)
	}
	// A value of a later version replaces the negative entry, and back.
	set(t, s, k, cache.Entry{Value: []byte("found"), Version: 4}, long, true)
	wantEntry(t, s, k, []byte("found"), 4)
	set(t, s, k, cache.Entry{Negative: true, Version: 5}, long, true)
	if e, ok := get(t, s, k); !ok || !e.Negative {
		t.Fatalf("%s: Get(%q) = %+v, %v; want a negative entry", s.Name(), k, e, ok)
	}
}

func testLargeValues(t *testing.T, s cache.Store, p string) {
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	set(t, s, p+"big", cache.Entry{Value: big, Version: 1}, long, true)
	wantEntry(t, s, p+"big", big, 1)
	// The store keeps its own copy.
	want := bytes.Clone(big)
	big[0] ^= 0xff
	wantEntry(t, s, p+"big", want, 1)
	set(t, s, p+"empty", cache.Entry{Value: []byte{}, Version: 1}, long, true)
	e, ok := get(t, s, p+"empty")
	if !ok || e.Negative || len(e.Value) != 0 {
		t.Fatalf("%s: empty value: Get = %+v, %v; want an empty, non-negative entry", s.Name(), e, ok)
	}
}

func testKeyEscaping(t *testing.T, s cache.Store, p string) {
	raw := []string{"a:b", "a%3Ab", "a b", "a\nb", "a\x00b", "ключ", "a:b:", "v:a", "f:a"}
	var keys []string
	for _, r := range raw {
		keys = append(keys, p+r)
	}
	// Tuples that a plain join would make equal.
	for _, tuple := range [][]string{
		{"t", "m", "a:b"}, {"t", "m", "a", "b"}, {"t:m", "a", "b"}, {"t", "m:a", "b"},
		{"t", "m", "a%3Ab"}, {"t", "m", "a", ""}, {"t", "m", "a"}, {"t", "m", ""},
	} {
		k, err := cache.NewKey(p+tuple[0], tuple[1], tuple[2:]...)
		if err != nil {
			t.Fatalf("NewKey%q: %v", tuple, err)
		}
		keys = append(keys, k.String())
	}
	for i, k := range keys {
		set(t, s, k, cache.Entry{Value: []byte(k), Version: int64(i)}, long, true)
	}
	for i, k := range keys {
		wantEntry(t, s, k, []byte(k), int64(i))
	}
	if err := s.Invalidate(t.Context(), keys[0], 1000, long); err != nil {
		t.Fatal(err)
	}
	wantMiss(t, s, keys[0])
	for i, k := range keys[1:] {
		wantEntry(t, s, k, []byte(k), int64(i+1))
	}
}

// testConcurrent runs writers, invalidators and readers on a few keys at
// once. Each invalidation that has returned raises the key's known floor; a
// Get that starts after must not return a version below it.
func testConcurrent(t *testing.T, s cache.Store, p string) {
	const keys, workers, ops = 4, 8, 150
	var floors [keys]atomic.Int64 // the highest invalidation returned, per key
	for i := range floors {
		floors[i].Store(math.MinInt64)
	}
	var clock atomic.Int64 // hands out increasing versions
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				k := (w + i) % keys
				key := fmt.Sprintf("%sk%d", p, k)
				var err error
				switch i % 4 {
				case 0:
					v := clock.Add(1)
					if err = s.Invalidate(ctx, key, v, long); err == nil {
						for f := floors[k].Load(); f < v && !floors[k].CompareAndSwap(f, v); f = floors[k].Load() {
						}
					}
				case 1:
					// A value as old as a load that read before the others wrote.
					_, err = s.Set(ctx, key, cache.Entry{Value: []byte("x"), Version: clock.Load() - 3}, long)
				default:
					lo := floors[k].Load()
					var e cache.Entry
					var ok bool
					if e, ok, err = s.Get(ctx, key); err == nil && ok && e.Version < lo {
						err = fmt.Errorf("Get(%q) = version %d after an invalidation at %d had returned", key, e.Version, lo)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", s.Name(), err)
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
