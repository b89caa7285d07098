package cacheprom_test

import (
	"context"
	"fmt"
	"log"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/cacheprom"
)

// The metrics of a memory-tier cache after a load and a hit. A service
// serves them with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}) on
// /metrics.
func Example() {
	reg := prometheus.NewRegistry()
	obs, err := cacheprom.New(reg, "shop")
	if err != nil {
		log.Fatal(err)
	}
	stack, err := cache.New(cache.Config{Observer: obs, Stores: []cache.StoreConfig{{Type: "memory", MaxSize: 1000}}})
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.NewCache[string](stack, cache.Options{Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	key, _ := cache.NewKey("acme", "product", "p-1")
	for range 2 {
		if _, err := c.GetOrLoad(context.Background(), key, func(context.Context) (string, int64, error) { return "Teapot", 1, nil }); err != nil {
			log.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil && m.GetCounter().GetValue() > 0:
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
			case m.GetHistogram() != nil && m.GetHistogram().GetSampleCount() > 0:
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// shop_cache_hits_total memory 1
	// shop_cache_load_seconds ok 1
	// shop_cache_misses_total memory 2
}
