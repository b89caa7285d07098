package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/registry"
)

// Subgraph is a subgraph as the gateway routes to it.
type Subgraph struct {
	// Name is the service's registry name, the subgraph's name in the supergraph.
	Name string `json:"name"`
	// Instance is the id of the instance in use (the last one, when none is
	// healthy).
	Instance string `json:"instance"`
	// Rev changes whenever the instance in use, its URL or its version does: the
	// Node side fetches the SDL again then.
	Rev string `json:"rev"`
	// GraphQL is the URL of the instance's GraphQL endpoint, SDL that of its SDL
	// ("" when it serves none: the SDL is asked with { _service { sdl } }).
	GraphQL string `json:"graphql"`
	SDL     string `json:"sdl"`
	// Live is whether the instance is healthy and listed; a subgraph that is not
	// stays in the supergraph for Config.Forget, its requests failing at once.
	Live bool `json:"live"`
	// Since is when Live last changed.
	Since time.Time `json:"since"`
}

// service is what a service's watch knows: its listed instances by id, and the
// subgraph view built from them.
type service struct {
	entries map[string]registry.Entry
	sub     *Subgraph // nil until a usable instance was seen, and after Forget
	entry   registry.Entry
}

// subgraphs is the state the watches keep: every followed service by name.
type subgraphs struct {
	mu       sync.Mutex
	services map[string]*service
	forget   time.Duration
}

func newSubgraphs(names []string, forget time.Duration) *subgraphs {
	s := &subgraphs{services: map[string]*service{}, forget: forget}
	for _, n := range names {
		s.services[n] = &service{entries: map[string]registry.Entry{}}
	}
	return s
}

// apply updates the service of ev.Entry.Name with ev and recomputes its view.
func (s *subgraphs) apply(name string, ev registry.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.services[name]
	switch ev.Kind {
	case registry.Joined, registry.Changed:
		svc.entries[ev.Entry.ID] = ev.Entry
	case registry.Left:
		delete(svc.entries, ev.Entry.ID)
	case registry.Failed:
		return fmt.Errorf("gateway: watching service %s: %w", name, ev.Err)
	}
	return s.pick(name, svc, ev.At)
}

// pick chooses svc's instance: the one in use while it stays healthy, else the
// first healthy one by id. It returns the error of an instance whose metadata
// makes no URL (that instance is skipped).
func (s *subgraphs) pick(name string, svc *service, now time.Time) error {
	var firstErr error
	var chosen *Subgraph
	var entry registry.Entry
	ids := slices.Sorted(maps.Keys(svc.entries))
	if svc.sub != nil {
		if e, ok := svc.entries[svc.sub.Instance]; ok && e.Healthy {
			ids = append([]string{e.ID}, ids...)
		}
	}
	for _, id := range ids {
		e := svc.entries[id]
		if !e.Healthy {
			continue
		}
		sg, err := subgraphOf(e)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		chosen, entry = &sg, e
		break
	}
	old := svc.sub
	switch {
	case chosen != nil:
		chosen.Since = now
		if old != nil && old.Live && old.Rev == chosen.Rev {
			chosen.Since = old.Since
		}
		svc.sub, svc.entry = chosen, entry
	case old != nil && old.Live:
		down := *old
		down.Live, down.Since = false, now
		svc.sub = &down
	}
	return firstErr
}

// expire drops the subgraphs that have had no healthy instance for Forget.
func (s *subgraphs) expire(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for name, svc := range s.services {
		if svc.sub != nil && !svc.sub.Live && now.Sub(svc.sub.Since) >= s.forget {
			svc.sub = nil
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	return gone
}

// list returns the subgraphs of names that have a view, in the order of names.
func (s *subgraphs) list(names []string) []Subgraph {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Subgraph{}
	for _, n := range names {
		if sub := s.services[n].sub; sub != nil {
			out = append(out, *sub)
		}
	}
	return out
}

// url returns the URL of the metadata path key (default def) of service name's
// healthy instance in use, and false when it has none.
func (s *subgraphs) url(name, key, def string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.services[name]
	if svc == nil || svc.sub == nil || !svc.sub.Live {
		return "", false
	}
	u, err := resolve(svc.entry, key, def)
	return u, err == nil
}

// subgraphOf builds the view of entry e: its URLs from its URL and metadata
// paths.
func subgraphOf(e registry.Entry) (Subgraph, error) {
	gql, err := resolve(e, "graphql", "/graphql")
	if err != nil {
		return Subgraph{}, err
	}
	sdl, err := resolve(e, "sdl", "")
	if err != nil {
		return Subgraph{}, err
	}
	return Subgraph{Name: e.Name, Instance: e.ID, Rev: e.ID + " " + e.Version + " " + e.URL + " " + gql + " " + sdl,
		GraphQL: gql, SDL: sdl, Live: true}, nil
}

// resolve returns the URL of e's metadata path key (def when it has none; ""
// when def is too). The path must be a path on the instance's own host.
func resolve(e registry.Entry, key, def string) (string, error) {
	p, ok := e.Metadata[key]
	if !ok {
		p = def
	}
	if p == "" {
		return "", nil
	}
	base, err := url.Parse(e.URL)
	if err != nil {
		return "", fmt.Errorf("gateway: service %s instance %s: URL %q: %w", e.Name, e.ID, e.URL, err)
	}
	ref, err := url.Parse(p)
	if err != nil || ref.IsAbs() || ref.Host != "" || len(p) == 0 || p[0] != '/' {
		return "", fmt.Errorf("gateway: service %s instance %s: metadata %s %q: want an absolute path on the instance's host", e.Name, e.ID, key, p)
	}
	return base.ResolveReference(ref).String(), nil
}

// watch follows service name in reg until ctx ends, applying its events to s;
// it reports each error to report.
func (s *subgraphs) watch(ctx context.Context, reg *registry.Registry, name string, report func(error)) {
	for ctx.Err() == nil {
		ch, err := reg.Watch(ctx, name)
		if err != nil {
			report(fmt.Errorf("gateway: watching service %s: %w", name, err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(reg.Config().Poll):
			}
			continue
		}
		for ev := range ch {
			if err := s.apply(name, ev); err != nil {
				report(err)
			}
		}
	}
}
