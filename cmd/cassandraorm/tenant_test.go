package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// writeFiles writes name -> text files into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// matchInOrder fails t unless out matches each regular expression of want, in order.
func matchInOrder(t *testing.T, what, out string, want ...string) {
	t.Helper()
	rest := out
	for _, re := range want {
		loc := regexp.MustCompile(re).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("%s: output does not match %q (in order):\n%s", what, re, out)
		}
		rest = rest[loc[1]:]
	}
}

// TestTenantCommand runs the tenant lifecycle from the command line against the
// real server, then `migrate up -all-tenants`: a keyspace tenant and a partition
// tenant are created with migrations, listed, suspended, resumed, migrated further
// and deleted.
func TestTenantCommand(t *testing.T) {
	ctx := t.Context()
	s := env.Session(t) // creates the shared keyspace
	shared, prefix := env.Keyspace(), env.KeyspacePrefix()
	dir, dir2 := t.TempDir(), t.TempDir()
	items := "CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, v text);"
	writeFiles(t, dir, map[string]string{"0001_items.up.cql": items})
	writeFiles(t, dir2, map[string]string{"0001_items.up.cql": items,
		"0002_tags.up.cql": "CREATE TABLE IF NOT EXISTS tags (id int PRIMARY KEY);"})
	hosts := strings.Join(env.Hosts(), ",")
	base := []string{"-hosts", hosts, "-keyspace", shared, "-prefix", prefix, "-registry-table", "cli_tenants"}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := tenantCmd(ctx, append(slices.Clone(base), args...), &out, &errOut)
		t.Logf("tenant %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	migrateAll := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := migrateCmd(ctx, append([]string{"-hosts", hosts, "-keyspace", shared, "-dir", dir2, "-registry-table", "cli_tenants"}, args...), &out, &errOut)
		t.Logf("migrate %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	big := prefix + "cli_big"
	steps := []struct {
		args    []string
		want    []string // regular expressions the output must match, in order
		wantErr string
	}{
		{[]string{"list"}, []string{`^no tenants\n$`}, ""},
		{[]string{"create", "-id", "cli-big", "-name", "Big Co", "-strategy", "keyspace", "-migrations", dir},
			[]string{`applied 0001_items in`, `tenant cli-big: active \(keyspace strategy, keyspace ` + big + `\)`}, ""},
		{[]string{"create", "-id", "cli-small", "-migrations", dir},
			[]string{`applied 0001_items in`, `tenant cli-small: active \(partition strategy, in the shared tables\)`}, ""},
		// Again: nothing to do.
		{[]string{"create", "-id", "cli-big", "-strategy", "keyspace", "-migrations", dir}, []string{`^tenant cli-big: active`}, ""},
		{[]string{"create", "-id", "cli-big"}, nil, "exists with the keyspace strategy, and partition was asked for"},
		{[]string{"suspend", "-id", "cli-small"}, []string{`tenant cli-small: suspended`}, ""},
		{[]string{"list"}, []string{`ID\s+NAME\s+STRATEGY\s+STATUS\s+KEYSPACE\s+CREATED`,
			`cli-big\s+Big Co\s+keyspace\s+active\s+` + big + `\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`,
			`cli-small\s+-\s+partition\s+suspended\s+-\s+\d{4}-`}, ""},
		{[]string{"resume", "-id", "cli-small"}, []string{`tenant cli-small: active`}, ""},
		{[]string{"suspend", "-id", "nobody"}, nil, "unknown tenant"},
		{[]string{"create", "-id", "Bad_ID"}, nil, "invalid tenant id"},
		{[]string{"create", "-id", "cli-x", "-strategy", "shared"}, nil, `strategy "shared"`},
		{[]string{"create"}, nil, "-id is required"},
		{[]string{"create", "-id", "cli-x", "extra"}, nil, "unexpected arguments"},
		{[]string{"create", "-id", "cli-x", "-migrations", filepath.Join(dir, "missing")}, nil, "not a directory"},
		{[]string{"rename", "-id", "cli-x"}, nil, `unknown command "rename"`},
	}
	for _, st := range steps {
		out, err := run(st.args...)
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("tenant %q: error %v, want one containing %q", st.args, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("tenant %q: %v", st.args, err)
		}
		matchInOrder(t, strings.Join(st.args, " "), out, st.want...)
	}
	if strings.Contains(must(run("create", "-id", "cli-big", "-strategy", "keyspace", "-migrations", dir)), "applied") {
		t.Error("creating an active tenant again applied migrations")
	}

	db, err := orm.New(s, shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	hasTable := func(ks, table string) bool {
		ok, err := db.TableExists(ctx, ks, table)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !hasTable(big, "items") || !hasTable(shared, "items") {
		t.Fatal("the migrations of create were not applied in the tenant keyspace and the shared one")
	}

	out, err := migrateAll("up", "--all-tenants")
	if err != nil {
		t.Fatal(err)
	}
	matchInOrder(t, "migrate up --all-tenants", out,
		`\[1/2\] shared keyspace `+shared+`: migrating`, `applied 0002_tags in`, `\[1/2\] shared keyspace `+shared+`: done in`,
		`\[2/2\] tenant cli-big \(keyspace `+big+`\): migrating`, `applied 0002_tags in`, `\[2/2\] tenant cli-big .*: done in`)
	if !hasTable(big, "tags") || !hasTable(shared, "tags") {
		t.Error("migrate up --all-tenants did not create tags everywhere")
	}
	out, err = migrateAll("up", "-all-tenants")
	if err != nil {
		t.Fatal(err)
	}
	matchInOrder(t, "migrate up -all-tenants again", out, `\[1/2\]`, `no pending migrations`, `\[2/2\]`, `no pending migrations`)

	if _, err := run("delete", "-id", "cli-small"); err == nil || !strings.Contains(err.Error(), "-orphan-rows") {
		t.Errorf("deleting a partition tenant without -orphan-rows: %v", err)
	}
	matchInOrder(t, "delete", must(run("delete", "-id", "cli-small", "-orphan-rows")), `tenant cli-small: deleted \(its rows in the shared tables were left\)`)
	matchInOrder(t, "delete", must(run("delete", "-id", "cli-big")), `tenant cli-big: deleted \(keyspace `+big+` dropped\)`)
	if ok, err := db.KeyspaceExists(ctx, big); err != nil || ok {
		t.Errorf("keyspace %s after delete: exists %v, %v", big, ok, err)
	}
	matchInOrder(t, "list", must(run("list")), `no tenants`)
	if _, err := run("delete", "-id", "cli-big"); err == nil || !strings.Contains(err.Error(), "unknown tenant") {
		t.Errorf("deleting a deleted tenant: %v", err)
	}

	// Usage errors are caught before connecting.
	var o, e bytes.Buffer
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "-keyspace is required"},
		{[]string{"-keyspace", shared, "-replication", "simple:0", "list"}, "-replication"},
		{[]string{"-keyspace", shared, "-prefix", "Bad-", "list"}, "Config.KeyspacePrefix"},
		{[]string{"-keyspace", shared}, "usage: cassandraorm tenant"},
	} {
		if err := tenantCmd(ctx, c.args, &o, &e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tenant %q: %v, want an error containing %q", c.args, err, c.want)
		}
	}
	if err := tenantCmd(ctx, []string{"-hosts", hosts, "-keyspace", prefix + "missing", "list"}, &o, &e); err == nil ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing shared keyspace: %v", err)
	}
}

func TestParseReplication(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"simple:1", true}, {"simple:3", true}, {"dc1=3", true}, {"dc1=3,dc2=2", true}, {"dc1=3, dc2=2", true},
		{"simple:0", false}, {"simple:", false}, {"simple:x", false}, {"", false}, {"dc1", false}, {"dc1=0", false},
		{"dc'1=3", false}, {"dc1=3,", false}, {"=3", false},
	} {
		_, err := parseReplication(c.in)
		if (err == nil) != c.ok {
			t.Errorf("parseReplication(%q): %v, want ok %v", c.in, err, c.ok)
		}
	}
}
