package saga_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

func TestDefinitionValidate(t *testing.T) {
	ok := func(context.Context, *trip) error { return nil }
	good := saga.Step[trip]{Name: "a", Timeout: time.Second, Action: ok}
	tests := []struct {
		name string
		def  *saga.Definition[trip]
		want string // "" for valid
	}{
		{"valid", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{good}}, ""},
		{"nil", nil, "nil definition"},
		{"bad name", &saga.Definition[trip]{Name: "a b", Steps: []saga.Step[trip]{good}}, "saga name"},
		{"no steps", &saga.Definition[trip]{Name: "s"}, "no steps"},
		{"negative timeout", &saga.Definition[trip]{Name: "s", Timeout: -1, Steps: []saga.Step[trip]{good}}, "negative timeout"},
		{"bad step name", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{{Name: "x/y", Timeout: time.Second, Action: ok}}}, "step name"},
		{"duplicate step", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{good, good}}, "twice"},
		{"no action", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{{Name: "a", Timeout: time.Second}}}, "no Action"},
		{"no timeout", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{{Name: "a", Action: ok}}}, "no Timeout"},
		{"bad retry", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{{Name: "a", Timeout: time.Second, Action: ok,
			Retry: retry.Policy{MaxAttempts: -1}}}}, "Retry"},
		{"bad compensation retry", &saga.Definition[trip]{Name: "s", Steps: []saga.Step[trip]{{Name: "a", Timeout: time.Second, Action: ok,
			CompensateRetry: retry.Policy{Backoff: retry.Backoff{Initial: time.Second, Multiplier: 0.1}}}}}, "CompensateRetry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.def.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	db, err := orm.Detached("ks")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  saga.Config
		want string
	}{
		{"defaults", saga.Config{}, ""},
		{"bad table", saga.Config{Table: "x-y"}, "Config.Table"},
		{"too many shards", saga.Config{Shards: 5000}, "Shards"},
		{"negative max shards", saga.Config{MaxShards: -1}, "MaxShards"},
		{"short lease", saga.Config{LeaseTTL: time.Millisecond}, "LeaseTTL"},
		{"negative poll", saga.Config{Poll: -time.Second}, "Poll"},
		{"short bucket", saga.Config{Bucket: time.Millisecond}, "Bucket"},
		{"short retain", saga.Config{Retain: time.Minute}, "Retain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := saga.New(db, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// Register refuses a second definition of one name, and a codec that claims
// version 0.
func TestRegister(t *testing.T) {
	db, err := orm.Detached("ks")
	if err != nil {
		t.Fatal(err)
	}
	o, err := saga.New(db, saga.Config{})
	if err != nil {
		t.Fatal(err)
	}
	def := &saga.Definition[trip]{Name: "once", Steps: []saga.Step[trip]{{Name: "a", Timeout: time.Second,
		Action: func(context.Context, *trip) error { return nil }}}}
	if _, err := saga.Register(o, def); err != nil {
		t.Fatal(err)
	}
	if _, err := saga.Register(o, def); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Fatalf("second Register: %v", err)
	}
	bad := *def
	bad.Name, bad.Codec = "badcodec", zeroCodec{}
	if _, err := saga.Register(o, &bad); err == nil || !strings.Contains(err.Error(), "codec version 0") {
		t.Fatalf("Register with a version 0 codec: %v", err)
	}
}

type zeroCodec struct{}

func (zeroCodec) Version() int                     { return 0 }
func (zeroCodec) Encode(trip) ([]byte, error)      { return nil, nil }
func (zeroCodec) Decode(int, []byte) (trip, error) { return trip{}, nil }
