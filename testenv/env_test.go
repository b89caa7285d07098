package testenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("testenv_test")

func TestMain(m *testing.M) { env.Main(m) }

func TestCassandraRoundTrip(t *testing.T) {
	s := env.Session(t)
	if err := s.Query(`CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v int)`).Exec(); err != nil {
		t.Fatal(err)
	}
	if err := s.Query(`INSERT INTO kv (k, v) VALUES (?, ?)`, "answer", 42).Exec(); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.Query(`SELECT v FROM kv WHERE k = ?`, "answer").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 42 {
		t.Fatalf("read %d, want 42", v)
	}
}

// The ORM relies on Cassandra 5 features: SAI indexes and ANN search on
// vector columns, over native protocol v5.
func TestCassandraVectorSearch(t *testing.T) {
	cfg := env.ClusterConfig(t)
	if cfg.ProtoVersion != 5 || cfg.Keyspace != env.Keyspace() {
		t.Fatalf("config: protocol %d keyspace %q", cfg.ProtoVersion, cfg.Keyspace)
	}
	s := env.Session(t)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, tags set<text>, emb vector<float, 3>)`,
		`CREATE INDEX IF NOT EXISTS items_emb ON items (emb) USING 'sai' WITH OPTIONS = {'similarity_function': 'cosine'}`,
		`CREATE INDEX IF NOT EXISTS items_tags ON items (tags) USING 'sai'`,
	} {
		if err := s.Query(q).Exec(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows := map[int][]float32{1: {1, 0, 0}, 2: {0, 1, 0}, 3: {0.9, 0.1, 0}}
	for id, emb := range rows {
		tags := []string{fmt.Sprint("item", id), "all"}
		if err := s.Query(`INSERT INTO items (id, tags, emb) VALUES (?, ?, ?)`, id, tags, emb).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	var ids []int
	iter := s.Query(`SELECT id FROM items ORDER BY emb ANN OF ? LIMIT 2`, []float32{1, 0, 0}).Iter()
	var id int
	for iter.Scan(&id) {
		ids = append(ids, id)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 3 {
		t.Fatalf("ANN order %v, want [1 3]", ids)
	}
	var n int
	if err := s.Query(`SELECT count(*) FROM items WHERE tags CONTAINS ?`, "all").Consistency(gocql.One).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("SAI CONTAINS found %d rows, want 3", n)
	}
}

func TestRedisRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := env.Redis(t)
	key := fmt.Sprintf("testenv:%d", time.Now().UnixNano())
	if err := r.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, key).Result(); err != nil || got != "v" {
		t.Fatalf("get %q, %v; want \"v\"", got, err)
	}
	if ttl, err := r.TTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ttl %v, %v; want in (0, 1m]", ttl, err)
	}
	r.Del(ctx, key)
}

func TestKafkaProduceConsume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := fmt.Sprintf("testenv-%d", time.Now().UnixNano())
	c, err := kgo.NewClient(
		kgo.SeedBrokers(env.KafkaBrokers(t)...),
		kgo.AllowAutoTopicCreation(),
		kgo.DefaultProduceTopic(topic),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := fmt.Sprint("hello ", topic)
	if err := c.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(want)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for {
		fetches := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record consumed: %v", err)
		}
		for _, fe := range fetches.Errors() {
			t.Logf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		var got []string
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		if len(got) > 0 {
			if got[0] != want {
				t.Fatalf("consumed %q, want %q", got[0], want)
			}
			return
		}
	}
}
