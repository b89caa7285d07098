package platform

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewMetrics returns the Prometheus registry a service owns, with the Go
// runtime's and the process's collectors; the service registers its own
// metrics on it (a cache's with cacheprom.New) and serves it with
// WithMetrics.
func NewMetrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// WithMetrics serves reg's metrics at /metrics (promhttp, the Prometheus text
// and protobuf formats) and h at every other path. /metrics is outside h, so
// outside the tenant middleware: a scraper names no tenant.
func WithMetrics(h http.Handler, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", h)
	return mux
}
