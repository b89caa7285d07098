package kafka_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/bustest"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("cqrs_kafka_test")

func TestMain(m *testing.M) { env.Main(m) }

// testMaxDeliveries is the MaxDeliveries of the test buses.
const testMaxDeliveries = 3

// testConfig is tuned for a test run on a small machine: members join,
// notice each other and redeliver within a fraction of a second.
func testConfig(t *testing.T) kafka.Config {
	return kafka.Config{
		Brokers:           env.KafkaBrokers(t),
		ClientID:          "cqrs-kafka-test",
		Partitions:        4,
		Backoff:           retry.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		MaxDeliveries:     testMaxDeliveries,
		FetchMaxWait:      100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout:  10 * time.Second,
		Logger:            slog.New(slog.DiscardHandler),
		ClientOptions:     []kgo.Opt{kgo.MetadataMinAge(250 * time.Millisecond)},
	}
}

func newBus(t *testing.T, cfg kafka.Config) *kafka.Bus {
	t.Helper()
	bus, err := kafka.New(cfg)
	if err != nil {
		t.Fatalf("kafka.New: %v", err)
	}
	return bus
}

func TestConformance(t *testing.T) {
	bustest.Run(t, bustest.Transport{
		NewBus:        func(t *testing.T) cqrs.EventBus { return newBus(t, testConfig(t)) },
		MaxDeliveries: testMaxDeliveries,
		Durable:       true,
	})
}

func uniqueTopic(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "." + hex.EncodeToString(b[:])
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  kafka.Config
		want string // substring of the error; "" for valid
	}{
		{"minimal", kafka.Config{Brokers: []string{"127.0.0.1:9092"}}, ""},
		{"no brokers", kafka.Config{}, "no Brokers"},
		{"negative partitions", kafka.Config{Brokers: []string{"b:9092"}, Partitions: -2}, "Partitions -2"},
		{"replication factor", kafka.Config{Brokers: []string{"b:9092"}, ReplicationFactor: -3}, "ReplicationFactor -3"},
		{"negative wait", kafka.Config{Brokers: []string{"b:9092"}, FetchMaxWait: -time.Second}, "FetchMaxWait"},
		{"heartbeat too slow", kafka.Config{Brokers: []string{"b:9092"}, SessionTimeout: 6 * time.Second, HeartbeatInterval: 3 * time.Second}, "HeartbeatInterval"},
		{"backoff max below initial", kafka.Config{Brokers: []string{"b:9092"}, Backoff: retry.Backoff{Initial: time.Second, Max: time.Millisecond}}, "Backoff"},
		{"delivery limit below -1", kafka.Config{Brokers: []string{"b:9092"}, MaxDeliveries: -2}, "MaxDeliveries -2"},
		{"no delivery limit", kafka.Config{Brokers: []string{"b:9092"}, MaxDeliveries: -1}, ""},
		{"heartbeat default against short session", kafka.Config{Brokers: []string{"b:9092"}, SessionTimeout: 6 * time.Second}, "HeartbeatInterval 3s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			if _, err := kafka.New(tc.cfg); (err == nil) != (tc.want == "") {
				t.Fatalf("New() error = %v, want error %v", err, tc.want != "")
			}
		})
	}
}

func TestEnsureTopic(t *testing.T) {
	cfg := testConfig(t)
	bus := newBus(t, cfg)
	defer bus.Close()
	topic := uniqueTopic("cqrs-kafka-test.ensure")
	for range 2 { // the second call finds it
		if err := bus.EnsureTopic(t.Context(), topic, 3); err != nil {
			t.Fatalf("EnsureTopic: %v", err)
		}
	}
	adm, err := kadm.NewOptClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	details, err := adm.ListTopics(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details[topic].Partitions); n != 3 {
		t.Fatalf("topic %s has %d partitions, want 3", topic, n)
	}
}

// TestPoisonTopicRefused: a PoisonTopic that names no topic, or the topic
// itself (which would redeliver the poison forever), fails Subscribe.
func TestPoisonTopicRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		poison func(topic, group string) string
	}{
		{"empty", func(string, string) string { return "" }},
		{"the topic itself", func(topic, _ string) string { return topic }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.PoisonTopic = tc.poison
			bus := newBus(t, cfg)
			defer bus.Close()
			topic := uniqueTopic("cqrs-kafka-test.poison-refused")
			sub, err := bus.Subscribe(t.Context(), topic, "g", func(context.Context, cqrs.Message) error { return nil })
			if err == nil {
				_ = sub.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "PoisonTopic") || !strings.Contains(err.Error(), topic) {
				t.Fatalf("Subscribe = %v, want an error naming PoisonTopic and the topic", err)
			}
		})
	}
}

// TestReservedMetadataKey: metadata keys with the cqrs- prefix are refused,
// except the poison entries, so that a poisoned message can be published
// again as it is.
func TestReservedMetadataKey(t *testing.T) {
	bus := newBus(t, testConfig(t))
	defer bus.Close()
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"cqrs-id", false},
		{"cqrs-anything", false},
		{cqrs.MetaPoisonGroup, true},
		{cqrs.MetaPoisonError, true},
	} {
		t.Run(tc.key, func(t *testing.T) {
			topic := uniqueTopic("cqrs-kafka-test.reserved")
			err := bus.Publish(t.Context(), topic, cqrs.Message{Metadata: map[string]string{tc.key: "x"}})
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Publish with metadata key %s = %v, want nil", tc.key, err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "reserved") || !strings.Contains(err.Error(), topic)):
				t.Fatalf("Publish with metadata key %s = %v, want an error naming the reserved prefix and the topic", tc.key, err)
			}
		})
	}
}

// TestForeignRecord: a record another producer wrote, without the cqrs
// headers, arrives with an id stable across redeliveries, its timestamp,
// and its headers as metadata.
func TestForeignRecord(t *testing.T) {
	cfg := testConfig(t)
	bus := newBus(t, cfg)
	defer bus.Close()
	topic := uniqueTopic("cqrs-kafka-test.foreign")
	if err := bus.EnsureTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ts := time.UnixMilli(1700000000123)
	rec := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v"), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}}
	if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := make(chan cqrs.Message, 1)
	sub, err := bus.Subscribe(t.Context(), topic, "g", func(_ context.Context, m cqrs.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	select {
	case m := <-got:
		if want := topic + "/0/0"; m.ID != want {
			t.Errorf("ID = %q, want %q", m.ID, want)
		}
		if m.Key != "k" || string(m.Payload) != "v" || !m.Time.Equal(ts) || m.Metadata["trace"] != "t-1" {
			t.Errorf("got %+v, want key k, payload v, time %v, metadata trace=t-1", m, ts)
		}
	case <-time.After(bustest.Timeout):
		t.Fatal("no delivery")
	}
}

// TestPoisonForeignRecord: a record from another producer, whose headers
// use the reserved prefix, still reaches the poison topic, with its id,
// headers and the poison entries.
func TestPoisonForeignRecord(t *testing.T) {
	cfg := testConfig(t)
	bus := newBus(t, cfg)
	defer bus.Close()
	topic := uniqueTopic("cqrs-kafka-test.poison-foreign")
	if err := bus.EnsureTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v"),
		Headers: []kgo.RecordHeader{{Key: "cqrs-foreign", Value: []byte("f")}}}
	if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	sub, err := bus.Subscribe(t.Context(), topic, "g", func(context.Context, cqrs.Message) error {
		return cqrs.Permanent(errors.New("not ours"))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan cqrs.Message, 1)
	dlq, err := bus.Subscribe(t.Context(), cqrs.DefaultPoisonTopic(topic, "g"), "dead-letters", func(_ context.Context, m cqrs.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	select {
	case m := <-got:
		if want := topic + "/0/0"; m.ID != want || m.Key != "k" || string(m.Payload) != "v" || m.Metadata["cqrs-foreign"] != "f" ||
			m.Metadata[cqrs.MetaPoisonGroup] != "g" || !strings.Contains(m.Metadata[cqrs.MetaPoisonError], "not ours") {
			t.Errorf("poison record = %+v, want ID %s, key k, payload v, header cqrs-foreign=f and the poison entries", m, want)
		}
	case <-time.After(bustest.Timeout):
		t.Fatal("the foreign record did not reach the poison topic")
	}
}

// TestTenantHeader: the tenant travels as the record header "tenant", so
// a record from another producer names its tenant the same way; one whose
// header is not a valid tenant id is still delivered, under a context for
// which tenant.From fails with ErrInvalidID.
func TestTenantHeader(t *testing.T) {
	cfg := testConfig(t)
	bus := newBus(t, cfg)
	defer bus.Close()
	topic := uniqueTopic("cqrs-kafka-test.tenant")
	if err := bus.EnsureTopic(t.Context(), topic, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, v := range []string{"acme", "Bad'Id"} {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(v),
			Headers: []kgo.RecordHeader{{Key: cqrs.MetaTenant, Value: []byte(v)}}})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		payload, id string
		err         error
	}
	got := make(chan seen, 2)
	sub, err := bus.Subscribe(tenant.With(t.Context(), "decoy"), topic, "g", func(ctx context.Context, m cqrs.Message) error {
		id, err := tenant.From(ctx)
		got <- seen{string(m.Payload), id, err}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 2 {
		select {
		case s := <-got:
			switch {
			case s.payload == "acme" && (s.id != "acme" || s.err != nil):
				t.Errorf("record with tenant header acme: handler context tenant %q, %v; want acme", s.id, s.err)
			case s.payload != "acme" && !errors.Is(s.err, tenant.ErrInvalidID):
				t.Errorf("record with tenant header %q: handler context tenant %q, %v; want ErrInvalidID", s.payload, s.id, s.err)
			}
		case <-time.After(bustest.Timeout):
			t.Fatalf("record %d not delivered", i)
		}
	}
}
