package cqrs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

func withTenant(id string) map[string]string { return map[string]string{cqrs.MetaTenant: id} }

func TestPrepare(t *testing.T) {
	bg := context.Background()
	acme := tenant.With(bg, "acme")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		msgs    []cqrs.Message
		want    []string // the MetaTenant of each prepared message; "-" for none
		wantErr error
		errText []string // substrings of the error
	}{
		{"no tenant anywhere", bg, []cqrs.Message{{}, {}}, []string{"-", "-"}, nil, nil},
		{"tenant of the context given", acme, []cqrs.Message{{}, {Metadata: map[string]string{"a": "1"}}}, []string{"acme", "acme"}, nil, nil},
		{"same tenant named", acme, []cqrs.Message{{Metadata: withTenant("acme")}}, []string{"acme"}, nil, nil},
		{"explicit tenants without context tenant", bg, []cqrs.Message{{Metadata: withTenant("acme")}, {Metadata: withTenant("globex")}, {}},
			[]string{"acme", "globex", "-"}, nil, nil},
		{"another tenant named", acme, []cqrs.Message{{}, {ID: "m-2", Metadata: withTenant("globex")}}, nil,
			tenant.ErrMismatch, []string{`"acme"`, `"globex"`, "message 1", "m-2"}},
		{"empty tenant named under a tenant", acme, []cqrs.Message{{Metadata: withTenant("")}}, nil, tenant.ErrMismatch, []string{`""`, `"acme"`}},
		{"invalid context tenant", tenant.With(bg, "Bad'Id"), []cqrs.Message{{}}, nil, tenant.ErrInvalidID, []string{"context", "Bad'Id"}},
		{"invalid explicit tenant", bg, []cqrs.Message{{}, {Metadata: withTenant("Bad'Id")}}, nil, tenant.ErrInvalidID, []string{"message 1", "Bad'Id"}},
		{"empty explicit tenant", bg, []cqrs.Message{{Metadata: withTenant("")}}, nil, tenant.ErrInvalidID, []string{"message 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := make([]cqrs.Message, len(tc.msgs))
			for i, m := range tc.msgs {
				orig[i] = m.Clone()
			}
			got, err := cqrs.Prepare(tc.ctx, "orders", tc.msgs)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("Prepare = %d messages, %v; want none and an error wrapping %v", len(got), err, tc.wantErr)
				}
				for _, s := range tc.errText {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Prepare error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			for i, m := range got {
				v, ok := m.Metadata[cqrs.MetaTenant]
				if !ok {
					v = "-"
				}
				if v != tc.want[i] || m.Topic != "orders" || m.ID == "" || m.Time.IsZero() {
					t.Errorf("message %d = %+v, want topic orders, an ID, a time and tenant %s", i, m, tc.want[i])
				}
				if len(tc.msgs[i].Metadata) != len(orig[i].Metadata) {
					t.Errorf("message %d: Prepare changed the caller's metadata: %v", i, tc.msgs[i].Metadata)
				}
			}
		})
	}
}

func TestDeliver(t *testing.T) {
	bg := context.Background()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		md      map[string]string
		want    string
		wantErr error
	}{
		{"message tenant", bg, withTenant("acme"), "acme", nil},
		{"message tenant over the subscription's", tenant.With(bg, "decoy"), withTenant("acme"), "acme", nil},
		{"no tenant", bg, nil, "", tenant.ErrNoTenant},
		{"no tenant under a subscription tenant", tenant.With(bg, "decoy"), map[string]string{"a": "1"}, "", tenant.ErrNoTenant},
		{"invalid tenant", bg, withTenant("Bad'Id"), "", tenant.ErrInvalidID},
		{"empty tenant", tenant.With(bg, "decoy"), withTenant(""), "", tenant.ErrInvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := cqrs.Message{ID: "m-1", Payload: []byte("p"), Metadata: tc.md}
			called := false
			err := cqrs.Deliver(tc.ctx, func(ctx context.Context, got cqrs.Message) error {
				called = true
				id, err := tenant.From(ctx)
				if id != tc.want || !errors.Is(err, tc.wantErr) {
					t.Errorf("handler context tenant = %q, %v; want %q, %v", id, err, tc.want, tc.wantErr)
				}
				got.Payload[0] = 'x' // the handler's own copy
				return errors.New("handler error")
			}, m)
			if !called || err == nil || err.Error() != "handler error" {
				t.Errorf("Deliver = %v, called %v; want the handler called and its error", err, called)
			}
			if string(m.Payload) != "p" {
				t.Error("the handler's message shares memory with the delivered one")
			}
		})
	}
}
