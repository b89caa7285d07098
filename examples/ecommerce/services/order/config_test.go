package order_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
)

// Validate takes zero fields at their defaults and names what it refuses.
func TestConfigValidate(t *testing.T) {
	ok := order.Config{InventoryURL: "http://127.0.0.1:7403", PaymentURL: "http://127.0.0.1:7402"}
	tests := []struct {
		name    string
		mod     func(*order.Config)
		wantErr string // "" for valid
	}{
		{"defaults", func(*order.Config) {}, ""},
		{"a step's timeout", func(c *order.Config) { c.Timeouts = map[string]time.Duration{"process_payment": 2 * time.Second} }, ""},
		{"no inventory URL", func(c *order.Config) { c.InventoryURL = "" }, "Config.InventoryURL"},
		{"a payment URL without scheme", func(c *order.Config) { c.PaymentURL = "127.0.0.1:7402" }, "Config.PaymentURL"},
		{"an unknown step", func(c *order.Config) { c.Timeouts = map[string]time.Duration{"ship": time.Second} }, `no step "ship"`},
		{"a timeout too short", func(c *order.Config) { c.Timeouts = map[string]time.Duration{"create_order": time.Millisecond} }, `Timeouts["create_order"]`},
		{"a reservation TTL too short", func(c *order.Config) { c.ReservationTTL = time.Millisecond }, "ReservationTTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}

// Steps lists the seed's six steps and timeouts, in order.
func TestSteps(t *testing.T) {
	var names []string
	var total time.Duration
	for _, s := range order.Steps() {
		names = append(names, s.Name)
		total += s.Timeout
	}
	if got := strings.Join(names, ","); got != "validate_inventory,reserve_inventory,process_payment,create_order,update_inventory,send_confirmation" || total != 115*time.Second {
		t.Fatalf("steps %s, timeouts summing to %s", got, total)
	}
}
