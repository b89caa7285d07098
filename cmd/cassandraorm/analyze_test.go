package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyzeCommand analyses statements on a table of the test keyspace: an
// accepted one (exit 0), a refused one (exit 3, with the index DDL proposed), a file
// of statements, JSON output, and the flag errors.
func TestAnalyzeCommand(t *testing.T) {
	ctx := t.Context()
	s := env.Session(t)
	for _, ddl := range []string{
		`CREATE TABLE IF NOT EXISTS cli_orders (tenant text, user_id int, created timestamp, status text, PRIMARY KEY ((tenant, user_id), created))`,
		`CREATE INDEX IF NOT EXISTS cli_orders_status ON cli_orders (status) USING 'sai'`,
	} {
		if err := s.Query(ddl).ExecContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"-hosts", strings.Join(env.Hosts(), ","), "-keyspace", env.Keyspace()}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := analyzeCmd(ctx, append(append([]string(nil), base...), args...), strings.NewReader(""), &out, &errOut)
		t.Logf("analyze %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), err
	}
	out, err := run("SELECT * FROM cli_orders WHERE tenant = 'a' AND user_id = 1 LIMIT 10")
	if err != nil {
		t.Fatal(err)
	}
	matchInOrder(t, "accepted", out, `access:\s+single_partition`)
	out, err = run("SELECT * FROM cli_orders WHERE created > '2026-01-01' LIMIT 10")
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != 3 {
		t.Fatalf("a refused statement: %v, want exit code 3", err)
	}
	matchInOrder(t, "refused", out, `access:\s+filtering_scan`, `REFUSED: Cannot execute this query`, `FILTERING_REQUIRED`, `CREATE INDEX IF NOT EXISTS "cli_orders_created_sai"`)
	file := filepath.Join(t.TempDir(), "q.cql")
	if err := os.WriteFile(file, []byte("SELECT * FROM cli_orders WHERE status = 'open' LIMIT 5;\n-- a comment\nSELECT * FROM cli_orders;"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("-json", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	var reports []struct {
		Access   string `json:"access"`
		Refused  bool   `json:"refused"`
		Findings []struct {
			Code string `json:"code"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 || reports[0].Access != "index" || reports[1].Access != "full_scan" || len(reports[1].Findings) == 0 {
		t.Fatalf("reports %+v", reports)
	}
	for _, bad := range [][]string{{"-f", file, "SELECT 1"}, {}, {"-nope"}, {"-large-in", "-1", "SELECT * FROM cli_orders"}} {
		if _, err := run(bad...); err == nil || errors.As(err, &coded) {
			t.Errorf("analyze %v = %v, want a usage error", bad, err)
		}
	}
	var out2, errOut bytes.Buffer
	if err := analyzeCmd(ctx, []string{"SELECT 1"}, nil, &out2, &errOut); err == nil || !strings.Contains(err.Error(), "-keyspace is required") {
		t.Errorf("no keyspace: %v", err)
	}
}
