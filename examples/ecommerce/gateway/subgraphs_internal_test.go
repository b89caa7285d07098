package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/registry"
)

func entry(id, url string, healthy bool, md map[string]string) registry.Entry {
	return registry.Entry{Instance: registry.Instance{Name: "users", ID: id, URL: url, Metadata: md}, Healthy: healthy}
}

// TestPick follows one service through joins, health changes and leaves: the
// instance in use is kept while healthy, the first healthy one by id is taken
// otherwise, a bad metadata path is skipped with an error, and a service with no
// healthy instance stays listed, not live, until Forget.
func TestPick(t *testing.T) {
	s := newSubgraphs([]string{"users"}, time.Minute)
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	type want struct {
		instance, graphql, sdl string
		live                   bool
		err                    string
	}
	for i, step := range []struct {
		ev   registry.Event
		want want
	}{
		{registry.Event{Kind: registry.Joined, Entry: entry("b", "http://10.0.0.2:8080", true, map[string]string{"sdl": "/graphql/sdl"})},
			want{instance: "b", graphql: "http://10.0.0.2:8080/graphql", sdl: "http://10.0.0.2:8080/graphql/sdl", live: true}},
		// a (first by id) joins: b stays in use while healthy.
		{registry.Event{Kind: registry.Joined, Entry: entry("a", "http://10.0.0.1:8080", true, map[string]string{"graphql": "/api/gql"})},
			want{instance: "b", graphql: "http://10.0.0.2:8080/graphql", sdl: "http://10.0.0.2:8080/graphql/sdl", live: true}},
		// b turns unhealthy: a takes over, with its own paths.
		{registry.Event{Kind: registry.Changed, Entry: entry("b", "http://10.0.0.2:8080", false, nil)},
			want{instance: "a", graphql: "http://10.0.0.1:8080/api/gql", live: true}},
		// an instance whose metadata points at another host joins; a stays in use.
		{registry.Event{Kind: registry.Joined, Entry: entry("0", "http://10.0.0.9:8080", true, map[string]string{"graphql": "http://evil.example/graphql"})},
			want{instance: "a", graphql: "http://10.0.0.1:8080/api/gql", live: true}},
		// a leaves, b is unhealthy, 0 is skipped with an error: listed with a's
		// last URLs, not live.
		{registry.Event{Kind: registry.Left, Entry: entry("a", "http://10.0.0.1:8080", true, nil)},
			want{instance: "a", graphql: "http://10.0.0.1:8080/api/gql", live: false, err: "want an absolute path on the instance's host"}},
		{registry.Event{Kind: registry.Left, Entry: entry("0", "http://10.0.0.9:8080", true, nil)},
			want{instance: "a", graphql: "http://10.0.0.1:8080/api/gql", live: false}},
		// b healthy again.
		{registry.Event{Kind: registry.Changed, Entry: entry("b", "http://10.0.0.2:9090", true, nil)},
			want{instance: "b", graphql: "http://10.0.0.2:9090/graphql", live: true}},
	} {
		step.ev.At = t0.Add(time.Duration(i) * time.Second)
		err := s.apply("users", step.ev)
		if (err == nil) != (step.want.err == "") || err != nil && !strings.Contains(err.Error(), step.want.err) {
			t.Fatalf("step %d: apply = %v, want error %q", i, err, step.want.err)
		}
		l := s.list([]string{"users"})
		if len(l) != 1 {
			t.Fatalf("step %d: list = %+v", i, l)
		}
		got := l[0]
		if got.Instance != step.want.instance || got.GraphQL != step.want.graphql || got.SDL != step.want.sdl || got.Live != step.want.live {
			t.Fatalf("step %d: %+v, want %+v", i, got, step.want)
		}
	}
	// Forget: down for a minute, the subgraph is dropped.
	_ = s.apply("users", registry.Event{Kind: registry.Left, Entry: entry("b", "http://10.0.0.2:9090", true, nil), At: t0.Add(time.Hour)})
	if gone := s.expire(t0.Add(time.Hour + 59*time.Second)); len(gone) != 0 {
		t.Fatalf("expired after 59s: %v", gone)
	}
	if gone := s.expire(t0.Add(time.Hour + time.Minute)); len(gone) != 1 || gone[0] != "users" || len(s.list([]string{"users"})) != 0 {
		t.Fatalf("after Forget: gone %v, list %+v", gone, s.list([]string{"users"}))
	}
	if _, ok := s.url("users", "ws", "/ws"); ok {
		t.Fatal("url of a forgotten service")
	}
}
