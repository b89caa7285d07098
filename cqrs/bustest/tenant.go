package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// noTenant stands, in a tenantDelivery, for "no tenant": no MetaTenant
// entry, or a handler context for which tenant.From returns ErrNoTenant.
const noTenant = "<none>"

// tenantDelivery is what a handler call saw of the tenant.
type tenantDelivery struct {
	id      string // of the message
	ctx     string // tenant.From of the handler context, or noTenant
	ctxErr  error  // tenant.From's error other than ErrNoTenant
	meta    string // the message's MetaTenant, or noTenant
	payload string
}

// tenantRecorder collects the tenants of deliveries; safe for concurrent
// use.
type tenantRecorder struct {
	progress *progress

	mu   sync.Mutex
	seen []tenantDelivery
	ids  map[string]bool
}

func newTenantRecorder(p *progress) *tenantRecorder {
	return &tenantRecorder{progress: p, ids: make(map[string]bool)}
}

func (r *tenantRecorder) handler(ctx context.Context, m cqrs.Message) error {
	d := tenantDelivery{id: m.ID, ctx: noTenant, meta: noTenant, payload: string(m.Payload)}
	switch id, err := tenant.From(ctx); {
	case err == nil:
		d.ctx = id
	case !errors.Is(err, tenant.ErrNoTenant):
		d.ctxErr = err
	}
	if v, ok := m.Metadata[cqrs.MetaTenant]; ok {
		d.meta = v
	}
	r.mu.Lock()
	r.seen = append(r.seen, d)
	r.ids[m.ID] = true
	r.mu.Unlock()
	r.progress.tick()
	return nil
}

func (r *tenantRecorder) has(ids ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if !r.ids[id] {
			return false
		}
	}
	return true
}

func (r *tenantRecorder) snapshot() []tenantDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tenantDelivery(nil), r.seen...)
}

func publishCtx(t *testing.T, bus cqrs.EventBus, ctx context.Context, topic string, msgs ...cqrs.Message) {
	t.Helper()
	if err := bus.Publish(ctx, topic, msgs...); err != nil {
		t.Fatalf("Publish(%s, %d messages): %v", topic, len(msgs), err)
	}
}

// testTenantFromContext: messages published under a tenant's context
// carry it in their metadata and in the context of their handler calls.
func testTenantFromContext(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	rec := newTenantRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	bare := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "bare"}
	named := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: "named", Metadata: map[string]string{cqrs.MetaTenant: "acme", "actor": "user:7"}}
	publishCtx(t, bus, tenant.With(t.Context(), "acme"), topic, bare, named)
	if _, ok := bare.Metadata[cqrs.MetaTenant]; ok {
		t.Error("Publish added the tenant to the caller's message")
	}
	eventually(t, "both messages delivered", rec.progress, func() bool { return rec.has(bare.ID, named.ID) })
	for _, d := range rec.snapshot() {
		if d.ctx != "acme" || d.ctxErr != nil || d.meta != "acme" {
			t.Errorf("message %s: handler context tenant %q (error %v), metadata tenant %q; want acme and acme", d.id, d.ctx, d.ctxErr, d.meta)
		}
	}
}

// testTenantsInterleaved: publishers of many tenants, and one without
// tenant, publish at once to one topic on shared keys, so that every
// partition interleaves tenants; each handler call runs under the tenant
// of its own message, never under another message's.
func testTenantsInterleaved(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	const (
		tenants   = 10
		perTenant = 24
		batch     = 4
	)
	prog := newProgress()
	rec := newTenantRecorder(prog)
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	// The same members under a Subscribe context with a tenant of its own:
	// a message never gets it.
	decoy := newTenantRecorder(prog)
	subscribe(t, bus, tenant.With(t.Context(), "decoy"), topic, "decoy", decoy.handler)

	ks := keys(6)
	var (
		mu   sync.Mutex
		ids  []string
		want = make(map[string]string) // message ID -> the tenant it was published under
		wg   sync.WaitGroup
	)
	errs := make(chan error, tenants+1)
	for p := range tenants + 1 {
		name, ctx := noTenant, t.Context()
		if p < tenants {
			name = fmt.Sprintf("tenant-%02d", p)
			ctx = tenant.With(ctx, name)
		}
		wg.Go(func() {
			for i := 0; i < perTenant; i += batch {
				msgs := make([]cqrs.Message, batch)
				for j := range msgs {
					msgs[j] = cqrs.Message{ID: cqrs.NewID(), Key: ks[(p+i+j)%len(ks)], Type: "n", Payload: []byte(name)}
				}
				if err := bus.Publish(ctx, topic, msgs...); err != nil {
					errs <- fmt.Errorf("publisher of %s: %w", name, err)
					return
				}
				mu.Lock()
				for _, m := range msgs {
					ids = append(ids, m.ID)
					want[m.ID] = name
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, fmt.Sprintf("both groups received all %d messages", len(ids)), prog, func() bool {
		return rec.has(ids...) && decoy.has(ids...)
	})
	for group, r := range map[string]*tenantRecorder{"g": rec, "decoy": decoy} {
		mismatches := 0
		handled := make(map[string]map[string]bool) // tenant -> message IDs
		for _, d := range r.snapshot() {
			w := want[d.id]
			if d.ctx != w || d.ctxErr != nil || d.meta != w || d.payload != w {
				if mismatches < 10 {
					t.Errorf("group %s, message %s published under %s: handler context tenant %q (error %v), metadata tenant %q",
						group, d.id, w, d.ctx, d.ctxErr, d.meta)
				}
				mismatches++
			}
			if handled[w] == nil {
				handled[w] = make(map[string]bool)
			}
			handled[w][d.id] = true
		}
		if mismatches > 0 {
			t.Errorf("group %s: %d deliveries under the wrong tenant", group, mismatches)
		}
		if len(handled) != tenants+1 {
			t.Errorf("group %s: messages of %d tenants (no tenant included) handled, want %d", group, len(handled), tenants+1)
		}
		for name, got := range handled {
			if len(got) != perTenant {
				t.Errorf("group %s: %d messages of %s handled, want %d", group, len(got), name, perTenant)
			}
		}
	}
}

// testTenantAbsent: a message without tenant is handled under a context
// without tenant, even right after a message with one on the same key and
// under a Subscribe context that has a tenant.
func testTenantAbsent(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	prog := newProgress()
	plain, decoy := newTenantRecorder(prog), newTenantRecorder(prog)
	subscribe(t, bus, t.Context(), topic, "plain", plain.handler)
	subscribe(t, bus, tenant.With(t.Context(), "decoy"), topic, "decoy", decoy.handler)
	want := make(map[string]string)
	var ids []string
	for i, name := range []string{"acme", noTenant, "globex", noTenant, noTenant, "acme"} {
		m := cqrs.Message{ID: cqrs.NewID(), Key: "k", Type: fmt.Sprint(i)}
		if name != noTenant {
			m.Metadata = map[string]string{cqrs.MetaTenant: name}
		}
		publish(t, bus, topic, m) // one Publish each, without tenant in the context
		want[m.ID] = name
		ids = append(ids, m.ID)
	}
	eventually(t, "both groups received every message", prog, func() bool { return plain.has(ids...) && decoy.has(ids...) })
	for group, r := range map[string]*tenantRecorder{"plain": plain, "decoy": decoy} {
		for _, d := range r.snapshot() {
			if w := want[d.id]; d.ctx != w || d.ctxErr != nil || d.meta != w {
				t.Errorf("group %s, message %s of tenant %s: handler context tenant %q (error %v), metadata tenant %q",
					group, d.id, w, d.ctx, d.ctxErr, d.meta)
			}
		}
	}
}

// testTenantRefused: a Publish naming another tenant than its context's,
// or an invalid tenant, fails naming the topic and the tenants, and
// publishes none of its messages.
func testTenantRefused(t *testing.T, _ Transport, bus cqrs.EventBus) {
	topic := topicName(t)
	var refused []string
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		named   string // the MetaTenant of the second message
		wantErr error
		text    []string
	}{
		{"another tenant", tenant.With(t.Context(), "acme"), "globex", tenant.ErrMismatch, []string{"acme", "globex"}},
		{"invalid context tenant", tenant.With(t.Context(), "Bad'Id"), "", tenant.ErrInvalidID, []string{"Bad'Id"}},
		{"invalid message tenant", t.Context(), "Bad'Id", tenant.ErrInvalidID, []string{"Bad'Id"}},
	} {
		first := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
		second := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
		if tc.named != "" {
			second.Metadata = map[string]string{cqrs.MetaTenant: tc.named}
		}
		err := bus.Publish(tc.ctx, topic, first, second)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: Publish = %v, want an error wrapping %v", tc.name, err, tc.wantErr)
		} else {
			for _, s := range append(tc.text, topic) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: Publish error %q does not name %q", tc.name, err, s)
				}
			}
		}
		refused = append(refused, first.ID, second.ID)
	}
	marker := cqrs.Message{ID: cqrs.NewID(), Key: "k"}
	publishCtx(t, bus, tenant.With(t.Context(), "acme"), topic, marker)
	rec := newTenantRecorder(newProgress())
	subscribe(t, bus, t.Context(), topic, "g", rec.handler)
	eventually(t, "the message published after delivered", rec.progress, func() bool { return rec.has(marker.ID) })
	for _, id := range refused {
		if rec.has(id) {
			t.Errorf("message %s of a refused Publish was delivered", id)
		}
	}
}
