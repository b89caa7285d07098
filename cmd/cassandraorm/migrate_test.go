package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("cassandraorm_cmd_test")

func TestMain(m *testing.M) { env.Main(m) }

func TestMigrateCommand(t *testing.T) {
	ctx := t.Context()
	// A keyspace the command creates (-create-keyspace); dropped at the end.
	const ks = "cassandraorm_cmd_migrate"
	s := env.Session(t)
	if err := s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })

	dir := t.TempDir()
	files := map[string]string{
		"0001_create_notes.up.cql":   "CREATE TABLE notes (id int PRIMARY KEY, body text);",
		"0001_create_notes.down.cql": "DROP TABLE notes;",
		"0002_body_index.up.cql":     "CREATE CUSTOM INDEX notes_body_idx ON notes (body) USING 'StorageAttachedIndex';",
		"0002_body_index.down.cql":   "DROP INDEX notes_body_idx;",
		"0003_seed.up.cql":           "INSERT INTO notes (id, body) VALUES (1, 'first; note');\nINSERT INTO notes (id, body) VALUES (2, 'second');",
		"0003_seed.down.cql":         "DELETE FROM notes WHERE id = 1;\nDELETE FROM notes WHERE id = 2;",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"-hosts", strings.Join(env.Hosts(), ","), "-keyspace", ks, "-dir", dir}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := migrateCmd(ctx, append(append([]string{}, base...), args...), &out, &errOut)
		t.Logf("migrate %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	steps := []struct {
		args    []string
		want    []string // regular expressions the output must match, in order
		wantErr string
	}{
		{[]string{"status"}, nil, "does not exist"}, // no keyspace yet
		{[]string{"-create-keyspace", "up", "2"}, []string{`applied 0001_create_notes in \d+`, `applied 0002_body_index in \d+`}, ""},
		{[]string{"status"}, []string{`MIGRATION\s+STATE\s+APPLIED AT\s+DURATION`,
			`0001_create_notes\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d+`, `0002_body_index\s+applied`, `0003_seed\s+pending\s+-\s+-`}, ""},
		{[]string{"up", "--to", "3"}, []string{`applied 0003_seed in`}, ""},
		{[]string{"up"}, []string{`no pending migrations`}, ""},
		{[]string{"down", "2"}, []string{`rolled back 0003_seed in`, `rolled back 0002_body_index in`}, ""},
		{[]string{"status"}, []string{`0001_create_notes\s+applied`, `0002_body_index\s+pending`, `0003_seed\s+pending`}, ""},
		{[]string{"up"}, []string{`applied 0002_body_index`, `applied 0003_seed`}, ""},
		{[]string{"up", "2", "--to", "3"}, nil, "unexpected arguments"},
		{[]string{"up", "-to", "3", "2"}, nil, "not both"},
		{[]string{"down", "zero"}, nil, "want a number"},
		{[]string{"sideways"}, nil, `unknown command "sideways"`},
	}
	for _, st := range steps {
		out, err := run(st.args...)
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("migrate %q: error %v, want one containing %q", st.args, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("migrate %q: %v", st.args, err)
		}
		rest := out
		for _, re := range st.want {
			loc := regexp.MustCompile(re).FindStringIndex(rest)
			if loc == nil {
				t.Fatalf("migrate %q: output does not match %q (in order):\n%s", st.args, re, out)
			}
			rest = rest[loc[1]:]
		}
	}
	var body string
	if err := s.Query("SELECT body FROM " + ks + ".notes WHERE id = 1").Scan(&body); err != nil || body != "first; note" {
		t.Fatalf("seeded row: %q, %v", body, err)
	}

	// An applied file edited afterwards: status flags it and fails, up refuses.
	if err := os.WriteFile(filepath.Join(dir, "0003_seed.up.cql"), []byte("INSERT INTO notes (id, body) VALUES (3, 'x');"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run("status")
	if err == nil || !regexp.MustCompile(`0003_seed\s+changed`).MatchString(out) || !strings.Contains(out, "error: migrate: applied migration file changed: 0003_seed.up.cql") {
		t.Fatalf("status after an edit: %v\n%s", err, out)
	}
	if _, err := run("up"); err == nil || !strings.Contains(err.Error(), "0003_seed.up.cql") {
		t.Fatalf("up after an edit: %v", err)
	}

	// Usage errors are caught before connecting.
	var out2, errOut bytes.Buffer
	if err := migrateCmd(ctx, []string{"-dir", dir, "up"}, &out2, &errOut); err == nil || !strings.Contains(err.Error(), "-keyspace is required") {
		t.Errorf("without -keyspace: %v", err)
	}
	if err := migrateCmd(ctx, []string{"-keyspace", ks, "-dir", filepath.Join(dir, "missing"), "up"}, &out2, &errOut); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("missing -dir: %v", err)
	}
}

// TestMigrateResolve: a migration that failed halfway is dirty in status, up refuses,
// and resolve records what the operator found.
func TestMigrateResolve(t *testing.T) {
	ctx := t.Context()
	const ks = "cassandraorm_cmd_resolve"
	s := env.Session(t)
	if err := s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec() })
	dir := t.TempDir()
	files := map[string]string{
		"0001_notes.up.cql": "CREATE TABLE notes (id int PRIMARY KEY);",
		// The second statement fails after the first ran.
		"0002_tags.up.cql": "CREATE TABLE tags (id int PRIMARY KEY);\nALTER TABLE tags ADD id text;",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"-hosts", strings.Join(env.Hosts(), ","), "-keyspace", ks, "-dir", dir}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := migrateCmd(ctx, append(append([]string{}, base...), args...), &out, &errOut)
		t.Logf("migrate %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	if _, err := run("-create-keyspace", "up"); err == nil || !strings.Contains(err.Error(), "marked dirty") {
		t.Fatalf("up: %v", err)
	}
	out, err := run("status")
	if err == nil || !regexp.MustCompile(`0002_tags\s+dirty`).MatchString(out) ||
		!strings.Contains(out, `error: migrate: migration is dirty: 0002_tags: up at 0002_tags.up.cql statement 2 (line 2) "ALTER TABLE tags ADD id text"`) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if _, err := run("up"); err == nil || !strings.Contains(err.Error(), "migration is dirty: 0002_tags") {
		t.Fatalf("up while dirty: %v", err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"resolve"}, "-version V is required"},
		{[]string{"resolve", "-version", "2"}, "one of -applied or -pending"},
		{[]string{"resolve", "-version", "2", "-applied", "-pending"}, "one of -applied or -pending"},
		{[]string{"resolve", "-version", "2", "-applied", "x"}, "unexpected arguments"},
		{[]string{"resolve", "-version", "7", "-applied"}, "version 7 is not among the migrations"},
	} {
		if _, err := run(bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("migrate %q: %v, want an error containing %q", bad.args, err, bad.want)
		}
	}
	// The operator finds the table made and the column not needed: applied.
	if out, err := run("resolve", "-version", "2", "-applied"); err != nil || !strings.Contains(out, "resolved version 2 as applied") {
		t.Fatalf("resolve: %v\n%s", err, out)
	}
	out, err = run("status")
	if err != nil || !regexp.MustCompile(`0002_tags\s+applied`).MatchString(out) {
		t.Fatalf("status after resolve: %v\n%s", err, out)
	}
	if out, err := run("resolve", "-version", "2", "-pending"); err != nil || !strings.Contains(out, "resolved version 2 as pending") {
		t.Fatalf("resolve -pending: %v\n%s", err, out)
	}
	if out, err := run("status"); err != nil || !regexp.MustCompile(`0002_tags\s+pending`).MatchString(out) {
		t.Fatalf("status after resolve -pending: %v\n%s", err, out)
	}
}
