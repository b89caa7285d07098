package registry_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// TestBadIDs: every call refuses an id that is not a valid tenant id with an error
// matching tenant.ErrInvalidID, before anything is sent, and nothing panics. Under
// the keyspace strategy, an id whose keyspace name would pass 48 characters is
// refused too, saying so.
func TestBadIDs(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "bad_ids", registry.Config{})
	bad := []string{
		"", "a", strings.Repeat("a", tenant.MaxIDLen+1), "Acme", "ACME", "acme-", "-acme", "1acme", "ac--me",
		"ac_me", "ac me", "ac'me", `ac"me`, "ac;me", "acme'; DROP KEYSPACE x; --", "ac\x00me", "ac\nme",
		"ünïcode", "acme\u200b", "日本", "\xff\xfe", "a.b", "a/b", "a\\b",
	}
	for _, id := range bad {
		calls := map[string]error{}
		_, calls["Provision"] = r.Provision(ctx, registry.Spec{ID: id}, registry.Schema{})
		_, calls["Provision keyspace"] = r.Provision(ctx, registry.Spec{ID: id, Strategy: registry.KeyspaceStrategy}, registry.Schema{})
		_, calls["Get"] = r.Get(ctx, id)
		calls["Suspend"] = r.Suspend(ctx, id)
		calls["Resume"] = r.Resume(ctx, id)
		calls["Delete"] = r.Delete(ctx, id, registry.Schema{})
		_, calls["Keyspace"] = r.Keyspace(ctx, id)
		calls["Active"] = r.Active(ctx, id)
		for call, err := range calls {
			if !errors.Is(err, tenant.ErrInvalidID) {
				t.Errorf("%s(%q): %v, want tenant.ErrInvalidID", call, id, err)
			}
		}
	}
	ts, err := r.List(ctx)
	if err != nil || len(ts) != 0 {
		t.Errorf("after the bad ids the registry holds %v (%v)", ts, err)
	}

	// A valid id of 32 characters after a prefix of more than 16 is too long for a
	// keyspace name; it is fine for the partition strategy.
	long := "l" + strings.Repeat("o", tenant.MaxIDLen-2) + "g"
	if len(env.KeyspacePrefix())+len(long) <= 48 {
		t.Fatalf("the test needs a prefix longer than %d characters", 48-len(long))
	}
	_, err = r.Provision(ctx, registry.Spec{ID: long, Strategy: registry.KeyspaceStrategy}, registry.Schema{})
	if !errors.Is(err, tenant.ErrInvalidID) || !strings.Contains(err.Error(), "Cassandra allows 48") {
		t.Errorf("an id too long for its keyspace name: %v", err)
	}
	if got, err := r.Provision(ctx, registry.Spec{ID: long}, registry.Schema{}); err != nil || got.Status != registry.StatusActive {
		t.Errorf("the same id as a partition tenant: %+v, %v", got, err)
	}
}

// TestBadSpecs: Provision refuses a spec it cannot record, saying why, and records
// nothing.
func TestBadSpecs(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "bad_specs", registry.Config{})
	for _, c := range []struct {
		spec   registry.Spec
		schema registry.Schema
		want   string
	}{
		{registry.Spec{ID: "spec-a", Strategy: "shared"}, registry.Schema{}, `strategy "shared": want "partition" or "keyspace"`},
		{registry.Spec{ID: "spec-a", Strategy: "Keyspace"}, registry.Schema{}, `strategy "Keyspace"`},
		{registry.Spec{ID: "spec-a", Name: "\xff"}, registry.Schema{}, "want valid UTF-8"},
		{registry.Spec{ID: "spec-a", Name: strings.Repeat("n", registry.MaxNameLen+1)}, registry.Schema{}, "at most 200 bytes"},
		{registry.Spec{ID: "spec-a", Limits: map[string]int64{"": 1}}, registry.Schema{}, "a limit has an empty name"},
		{registry.Spec{ID: "spec-a"}, registry.Schema{Models: []orm.SchemaModel{nil}}, "Schema.Models[0] is nil"},
	} {
		_, err := r.Provision(ctx, c.spec, c.schema)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tenant spec-a: provision: ") {
			t.Errorf("Provision(%+v): %v, want an error naming the tenant and containing %q", c.spec, err, c.want)
		}
	}
	if _, err := r.Get(ctx, "spec-a"); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("a refused spec was recorded: %v", err)
	}
}

// TestConfigValidate: the values New refuses, and that the zero Config is valid.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  registry.Config
		want string // "" for valid
	}{
		{registry.Config{}, ""},
		{registry.Config{Table: "tenants_of_shop", KeyspacePrefix: "shop_t_", MaxKeyspaceTenants: -1, Replication: orm.NetworkTopology(map[string]int{"dc1": 3}),
			MaxStaleness: time.Second, CacheSize: 10, LeaseTTL: time.Second}, ""},
		{registry.Config{Table: "bad-table"}, `Config.Table "bad-table"`},
		{registry.Config{Table: strings.Repeat("t", 42)}, "_leases"},
		{registry.Config{KeyspacePrefix: "T_"}, "Config.KeyspacePrefix"},
		{registry.Config{KeyspacePrefix: "1_"}, "Config.KeyspacePrefix"},
		{registry.Config{KeyspacePrefix: "t-"}, "Config.KeyspacePrefix"},
		{registry.Config{KeyspacePrefix: strings.Repeat("p", 47)}, "leave no room"},
		{registry.Config{MaxStaleness: -time.Second}, "Config.MaxStaleness"},
		{registry.Config{CacheSize: -1}, "Config.CacheSize"},
		{registry.Config{LeaseTTL: 500 * time.Millisecond}, "Config.LeaseTTL"},
	} {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%+v): %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Validate(%+v): %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
	if _, err := registry.New(nil, registry.Config{}); err == nil {
		t.Error("New(nil): no error")
	}
	noKeyspace, err := orm.Detached("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.New(noKeyspace, registry.Config{}); err == nil || !strings.Contains(err.Error(), "no keyspace") {
		t.Errorf("New on a DB without keyspace: %v", err)
	}
	if _, err := registry.New(openDB(t, nil), registry.Config{CacheSize: -1}); err == nil {
		t.Error("New with an invalid Config: no error")
	}
}
