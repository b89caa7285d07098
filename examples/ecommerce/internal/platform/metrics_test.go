package platform_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
)

// TestMetricsEndpoint scrapes /metrics over HTTP: the Go collector's and a
// service's own metric are there, and every other path reaches the service.
func TestMetricsEndpoint(t *testing.T) {
	reg := platform.NewMetrics()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "svc_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "api "+r.URL.Path) })
	srv := httptest.NewServer(platform.WithMetrics(api, reg))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	body := get("/metrics")
	for _, want := range []string{"\nsvc_things_total 3\n", "\ngo_goroutines ", "\nprocess_cpu_seconds_total "} {
		if !strings.Contains("\n"+body, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	if got := get("/products/1"); got != "api /products/1" {
		t.Errorf("GET /products/1 = %q, want the service's answer", got)
	}
}
