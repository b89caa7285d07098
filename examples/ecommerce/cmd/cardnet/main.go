// Command cardnet runs the card network simulator of the e-commerce example (package
// services/cardnet) as a process of its own, for the payment service to charge and
// refund through:
//
//	go run ./examples/ecommerce/cmd/cardnet -decline-rate 0.1 -latency 200ms -outage-rate 0.05
//
// Its charges live in its memory: they are gone when it stops. It logs each request
// with log/slog and stops gracefully on SIGINT or SIGTERM, finishing the requests in
// flight (for up to 10 seconds).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("cardnet stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("cardnet", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7401", "address to serve the API on")
	var cfg cardnet.Config
	fs.Float64Var(&cfg.DeclineRate, "decline-rate", 0, "share of charges declined (0..1), test cards aside")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay of every answer")
	fs.DurationVar(&cfg.Jitter, "jitter", 0, "up to this much more delay, drawn per answer")
	fs.Float64Var(&cfg.OutageRate, "outage-rate", 0, "share of requests answered 503 (0..1)")
	fs.Int64Var(&cfg.Seed, "seed", 0, "seed of the decline decisions and random draws")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	network, err := cardnet.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Info("card network", "decline_rate", cfg.DeclineRate, "latency", cfg.Latency, "jitter", cfg.Jitter,
		"outage_rate", cfg.OutageRate, "seed", cfg.Seed)
	return platform.Serve(ctx, *listen, platform.WithMetrics(logRequests(log, network.Handler()), platform.NewMetrics()), log, nil)
}

// logRequests logs each request's method, path, status and duration.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter remembers the status written; 0 means no answer was written (the
// client hung up during the latency).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
