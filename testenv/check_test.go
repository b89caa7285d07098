package testenv

import (
	"context"
	"strings"
	"testing"
)

// A closed port must fail with the address and the command that starts
// the server, never silently.
func TestUnreachableNamesStartCommand(t *testing.T) {
	const closed = "127.0.0.1:1"
	ctx := context.Background()
	_, cassErr := connectCassandra([]string{closed}, "")
	for name, err := range map[string]error{
		"cassandra": cassErr,
		"redis":     checkRedis(ctx, closed),
		"kafka":     checkKafka(ctx, []string{closed}),
	} {
		if err == nil {
			t.Fatalf("%s at %s: no error", name, closed)
		}
		msg := err.Error()
		for _, want := range []string{name + " at " + closed + " does not answer", `"make up"`, "go run ./cmd/cassandraorm dev up"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s error %q lacks %q", name, msg, want)
			}
		}
	}
}
