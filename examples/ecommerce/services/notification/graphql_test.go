package notification_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// TestSubgraph asks the subgraph for a user's notifications in two tenants
// whose notifications have the same ids and user: each sees only its own,
// newest first, each with its user as a reference, and by _entities; a
// limit out of range is a GraphQL error.
func TestSubgraph(t *testing.T) {
	a := newFixture(t, "graph-a", options{})
	b := &fixture{t: t, tenant: a.tenant + "b", ctx: tenant.With(t.Context(), a.tenant+"b"), svc: a.svc, api: a.api}
	for _, f := range []*fixture{a, b} {
		for _, id := range []string{"n-1", "n-2"} {
			n := confirmation(id)
			n["subject"] = f.tenant + " " + id
			if status, body := f.post(n, id); status != http.StatusCreated {
				t.Fatalf("%s: post %s: %d %v", f.tenant, id, status, body)
			}
		}
	}
	g, err := a.svc.Subgraph(graphql.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if sdl := g.SDL(); !strings.Contains(sdl, `type Notification @key(fields: "notification_id")`) || strings.Contains(sdl, "createNotification") {
		t.Errorf("SDL:\n%s", sdl)
	}
	for _, f := range []*fixture{a, b} {
		r := g.Execute(f.ctx, graphql.Request{Query: `{ notificationsForUser(user_id: "u-1") { notification_id subject user { user_id } } }`})
		got, _ := json.Marshal(r) // keys sorted
		want := `{"data":{"notificationsForUser":[` +
			`{"notification_id":"n-2","subject":"` + f.tenant + ` n-2","user":{"user_id":"u-1"}},` +
			`{"notification_id":"n-1","subject":"` + f.tenant + ` n-1","user":{"user_id":"u-1"}}]}}`
		if string(got) != want {
			t.Errorf("%s: %s\nwant %s", f.tenant, got, want)
		}
		r = g.Execute(f.ctx, graphql.Request{Query: `{ _entities(representations: [{__typename: "Notification", notification_id: "n-1"}]) { ... on Notification { subject } } }`})
		got, _ = json.Marshal(r)
		if want := `{"data":{"_entities":[{"subject":"` + f.tenant + ` n-1"}]}}`; string(got) != want {
			t.Errorf("%s: _entities %s\nwant %s", f.tenant, got, want)
		}
	}
	r := g.Execute(a.ctx, graphql.Request{Query: `{ notificationsForUser(user_id: "u-1", limit: 0) { subject } }`})
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "limit 0") {
		t.Errorf("limit 0: %+v", r)
	}
}
