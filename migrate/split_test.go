package migrate_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/migrate"
)

func TestSplitCQL(t *testing.T) {
	type st = migrate.Statement
	tests := []struct {
		name string
		in   string
		want []st
	}{
		{"empty", "", nil},
		{"only comments and semicolons", "-- a\n// b\n/* c; */ ;;\n", nil},
		{"two statements", "CREATE TABLE a (id int PRIMARY KEY);\nDROP TABLE b;\n",
			[]st{{"CREATE TABLE a (id int PRIMARY KEY)", 1}, {"DROP TABLE b", 2}}},
		{"last without semicolon", "SELECT 1 FROM a;\n\n  SELECT 2 FROM b  \n",
			[]st{{"SELECT 1 FROM a", 1}, {"SELECT 2 FROM b", 3}}},
		{"semicolon in string", "INSERT INTO t (s) VALUES ('a;b');INSERT INTO t (s) VALUES ('c')",
			[]st{{"INSERT INTO t (s) VALUES ('a;b')", 1}, {"INSERT INTO t (s) VALUES ('c')", 1}}},
		{"escaped quote in string", "INSERT INTO t (s) VALUES ('it''s; ok; '''); SELECT 1",
			[]st{{"INSERT INTO t (s) VALUES ('it''s; ok; ''')", 1}, {"SELECT 1", 1}}},
		{"multi-line string", "INSERT INTO t (s) VALUES ('a\n;b\n');\nSELECT 2;",
			[]st{{"INSERT INTO t (s) VALUES ('a\n;b\n')", 1}, {"SELECT 2", 4}}},
		{"semicolon in quoted identifier", `CREATE TABLE "we;ird" (id int PRIMARY KEY); SELECT "a""b;" FROM x;`,
			[]st{{`CREATE TABLE "we;ird" (id int PRIMARY KEY)`, 1}, {`SELECT "a""b;" FROM x`, 1}}},
		{"dollar block", "CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ int y = x; return y; $$;\nSELECT 1;",
			[]st{{"CREATE FUNCTION f (x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ int y = x; return y; $$", 1}, {"SELECT 1", 2}}},
		{"dollar in string is plain", "INSERT INTO t (s) VALUES ('$$;'); SELECT 1;",
			[]st{{"INSERT INTO t (s) VALUES ('$$;')", 1}, {"SELECT 1", 1}}},
		{"quote in dollar block is plain", "SELECT $$ it's; $$ FROM t; SELECT 2",
			[]st{{"SELECT $$ it's; $$ FROM t", 1}, {"SELECT 2", 1}}},
		{"leading comments dropped", "-- create users; really\n// and more;\n/* block;\n comment */\nCREATE TABLE u (id int PRIMARY KEY);",
			[]st{{"CREATE TABLE u (id int PRIMARY KEY)", 5}}},
		{"inner comments kept", "CREATE TABLE u ( -- the key; first\n id int PRIMARY KEY /* ; */ );",
			[]st{{"CREATE TABLE u ( -- the key; first\n id int PRIMARY KEY /* ; */ )", 1}}},
		{"comment markers in strings", "INSERT INTO t (s) VALUES ('-- no; /* no; // no');",
			[]st{{"INSERT INTO t (s) VALUES ('-- no; /* no; // no')", 1}}},
		{"trailing comment without newline", "SELECT 1; -- done; bye",
			[]st{{"SELECT 1", 1}}},
		{"CRLF line ends", "SELECT 1;\r\nSELECT 2;\r\n",
			[]st{{"SELECT 1", 1}, {"SELECT 2", 2}}},
		{"empty statements dropped", ";; SELECT 1 ;  ; \n;",
			[]st{{"SELECT 1", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := migrate.SplitCQL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitCQL(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitCQLUnterminated(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1;\nINSERT INTO t (s) VALUES ('a;b);\nSELECT 2;", "line 2: unterminated string"},
		{"SELECT \"abc;", "line 1: unterminated quoted identifier"},
		{"SELECT 1;\n\nSELECT $$ x; ", "line 3: unterminated $$ block"},
		{"SELECT 1; /* no end;\n", "line 1: unterminated /* comment"},
		{"SELECT 'it''s", "line 1: unterminated string"},
	}
	for _, tt := range tests {
		_, err := migrate.SplitCQL(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SplitCQL(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func FuzzSplitCQL(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 'a;b';", "$$;$$;--;\n/*;*/", `"a""b";'c''d'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		stmts, err := migrate.SplitCQL(in)
		if err != nil {
			return
		}
		for _, s := range stmts {
			if s.Text == "" || s.Text != strings.TrimSpace(s.Text) || s.Line < 1 || !strings.Contains(in, s.Text) {
				t.Fatalf("SplitCQL(%q): bad statement %+v", in, s)
			}
		}
	})
}
