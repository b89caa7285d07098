package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/analyze"
	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

func init() {
	commands["analyze"] = command{summary: "explain how Cassandra runs a CQL statement, flag anti-patterns, propose fixes", run: runAnalyze}
}

const analyzeUsage = `usage: cassandraorm analyze [-hosts host:port,...] -keyspace ks [-json] [-idempotent] [-large-in 20] (-f file | 'CQL')

analyze reads the keyspace's schema (tables, keys, SAI and vector indexes) and the
node's statistics (system.size_estimates, system_views), then for each statement
prints its access path, whether Cassandra would refuse it, estimates, and the
anti-patterns found with a fix (index DDL, a query table, a bucket column).
-f reads statements separated by ; from a file (- for standard input).

exit status: 0 when every statement would be accepted with no error-severity
finding; 3 when a statement does not parse, would be refused, or has an
error-severity finding; 1 when the analysis could not run (bad flags, no node).`

// errFindings is returned when a statement failed the analysis: exit status 3.
type errFindings struct{ n int }

func (e errFindings) Error() string {
	return fmt.Sprintf("%d statement(s) refused, unparseable or with an error-severity finding", e.n)
}

// ExitCode is the process's exit status for the error.
func (e errFindings) ExitCode() int { return 3 }

func runAnalyze(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return analyzeCmd(ctx, args, os.Stdin, os.Stdout, os.Stderr)
}

// analyzeCmd runs `cassandraorm analyze args`, printing reports to out and flag
// errors to errOut.
func analyzeCmd(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(errOut, analyzeUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	hosts := fs.String("hosts", devenv.CassandraAddr, "Cassandra contact points, comma separated")
	keyspace := fs.String("keyspace", "", "the keyspace whose schema the statements use (required)")
	file := fs.String("f", "", "read statements separated by ; from this file (- for standard input)")
	asJSON := fs.Bool("json", false, "print the reports as a JSON array")
	idem := fs.Bool("idempotent", false, "the statements are marked idempotent (retried on timeouts)")
	largeIN := fs.Int("large-in", 20, "partitions an IN on the partition key may address before it is flagged")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if *keyspace == "" {
		return errors.New("-keyspace is required (cassandraorm analyze -h explains)")
	}
	var text string
	switch {
	case *file != "" && fs.NArg() > 0:
		return errors.New("give -f or a statement, not both")
	case *file == "-":
		b, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		text = string(b)
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		text = string(b)
	case fs.NArg() > 0:
		text = strings.Join(fs.Args(), " ")
	default:
		return errors.New("no statement: give one as an argument or -f file (cassandraorm analyze -h explains)")
	}
	cfg := analyze.Config{LargeIN: *largeIN}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cluster := gocql.NewCluster(strings.Split(*hosts, ",")...)
	cluster.Timeout = 30 * time.Second
	cluster.ConnectTimeout = 10 * time.Second
	session, err := cluster.CreateSession()
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", *hosts, err)
	}
	defer session.Close()
	schema, err := analyze.LoadSchema(ctx, session, *keyspace)
	if err != nil {
		return err
	}
	if err := analyze.LoadStats(ctx, session, schema); err != nil {
		return err
	}
	a, err := analyze.New(schema, cfg)
	if err != nil {
		return err
	}
	reports := analyzeText(a, text, analyze.Options{Idempotent: *idem})
	failed := 0
	for _, r := range reports {
		if r.Failed() {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	} else {
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(out)
			}
			if err := r.WriteText(out); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		return errFindings{failed}
	}
	return nil
}

// analyzeText analyses each statement of text; a script that does not parse as a
// whole is split at ; so that one bad statement does not hide the others.
func analyzeText(a *analyze.Analyzer, text string, o analyze.Options) []*analyze.Report {
	var out []*analyze.Report
	if stmts, err := analyze.ParseScript(text); err == nil {
		for _, st := range stmts {
			out = append(out, a.AnalyzeStatement(st, o))
		}
		return out
	}
	for _, part := range strings.Split(text, ";") {
		if strings.TrimSpace(part) != "" {
			out = append(out, a.Analyze(part, o))
		}
	}
	return out
}
