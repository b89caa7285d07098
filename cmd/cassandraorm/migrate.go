package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

func init() {
	commands["migrate"] = command{summary: "apply, roll back or list the .cql migrations of a directory (up, down, status, resolve)", run: runMigrate}
}

const migrateUsage = `usage: cassandraorm migrate [-hosts host:port,...] -keyspace ks [-dir ./migrations] [-create-keyspace] [-registry-table tenants] <command>

commands:
  up [--all-tenants] [N | --to V]
                    apply all pending migrations, the next N, or those up to version V.
                    With --all-tenants, ks is the shared keyspace of a tenant registry:
                    apply them there, then in the keyspace of each keyspace-strategy
                    tenant (active or suspended), in id order; a failing keyspace does
                    not stop the others. Run it again after a failure: each keyspace
                    applies only what it lacks
  down [N]          roll back the last N applied migrations (default 1)
  status            list the migrations: applied, pending, dirty, or changed since applied
  resolve -version V -applied|-pending
                    after checking the schema, record a (dirty) migration as applied, or as
                    pending so that the next up runs it again`

func runMigrate(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return migrateCmd(ctx, args, os.Stdout, os.Stderr)
}

// migrateCmd runs `cassandraorm migrate args`, printing progress to out and flag
// errors to errOut.
func migrateCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(errOut, migrateUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	hosts := fs.String("hosts", devenv.CassandraAddr, "Cassandra contact points, comma separated")
	keyspace := fs.String("keyspace", "", "the keyspace to migrate (required)")
	dir := fs.String("dir", "migrations", "the directory of NNNN_name.up.cql and NNNN_name.down.cql files")
	create := fs.Bool("create-keyspace", false, "create the keyspace if it does not exist (SimpleStrategy, replication factor 1: for development)")
	regTable := fs.String("registry-table", registry.DefaultTable, "with up -all-tenants: the tenant registry's table in the shared keyspace (registry.Config.Table)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New(migrateUsage)
	}
	if *keyspace == "" {
		return errors.New("-keyspace is required\n" + migrateUsage)
	}
	sub, subArgs := fs.Arg(0), fs.Args()[1:]
	run, allTenants, err := parseMigrateCommand(sub, subArgs)
	if err != nil {
		return err
	}
	cfg := registry.Config{Table: *regTable}
	if err := cfg.Validate(); allTenants && err != nil {
		return err
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return fmt.Errorf("migrations directory %s: not a directory (%v)", *dir, err)
	}

	db, err := orm.Open(ctx, orm.Config{Hosts: strings.Split(*hosts, ","), Keyspace: *keyspace})
	if err != nil {
		return err
	}
	defer db.Close()
	if *create {
		if err := db.CreateKeyspace(ctx, *keyspace, orm.SimpleStrategy(1)); err != nil {
			return err
		}
	} else {
		exists, err := db.KeyspaceExists(ctx, *keyspace)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("keyspace %s does not exist: create it, or pass -create-keyspace for a development keyspace", *keyspace)
		}
	}
	mdb := db
	var reg *registry.Registry
	if allTenants {
		if reg, err = registry.New(db, cfg); err != nil {
			return err
		}
		if err := reg.Sync(ctx); err != nil {
			return err
		}
		mdb = reg.DB()
	}
	m, err := migrate.New(mdb, migrate.Config{Progress: func(e migrate.Event) { fmt.Fprintln(out, e) }})
	if err != nil {
		return err
	}
	if err := m.AddFS(os.DirFS(*dir), "."); err != nil {
		return fmt.Errorf("%s: %w", *dir, err)
	}
	if allTenants {
		return reg.MigrateAll(ctx, func(ctx context.Context) error { return run(ctx, m, out) },
			func(e registry.ProgressEvent) { fmt.Fprintln(out, e) })
	}
	return run(ctx, m, out)
}

// parseMigrateCommand reads the subcommand and its arguments, before anything
// connects, and whether it is `up -all-tenants`.
func parseMigrateCommand(sub string, args []string) (func(context.Context, *migrate.Migrator, io.Writer) error, bool, error) {
	count := func(args []string, def int) (int, error) {
		switch len(args) {
		case 0:
			return def, nil
		case 1:
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return 0, fmt.Errorf("migrate %s %s: want a number of migrations, at least 1", sub, args[0])
			}
			return n, nil
		}
		return 0, fmt.Errorf("migrate %s: unexpected arguments %q\n%s", sub, args[1:], migrateUsage)
	}
	switch sub {
	case "up":
		fs := flag.NewFlagSet("migrate up", flag.ContinueOnError)
		to := fs.Int64("to", 0, "apply the pending migrations up to this version")
		all := fs.Bool("all-tenants", false, "migrate the shared keyspace and each keyspace-strategy tenant's keyspace")
		if err := fs.Parse(args); err != nil {
			return nil, false, err
		}
		n, err := count(fs.Args(), 0)
		if err != nil {
			return nil, false, err
		}
		if n > 0 && *to > 0 {
			return nil, false, errors.New("migrate up: give N or --to V, not both")
		}
		return func(ctx context.Context, m *migrate.Migrator, out io.Writer) error {
			var rs []migrate.Result
			var err error
			switch {
			case n > 0:
				rs, err = m.UpN(ctx, n)
			case *to > 0:
				rs, err = m.UpTo(ctx, *to)
			default:
				rs, err = m.Up(ctx)
			}
			if err == nil && len(rs) == 0 {
				fmt.Fprintln(out, "no pending migrations")
			}
			return err
		}, *all, nil
	case "down":
		n, err := count(args, 1)
		if err != nil {
			return nil, false, err
		}
		return func(ctx context.Context, m *migrate.Migrator, out io.Writer) error {
			rs, err := m.Down(ctx, n)
			if err == nil && len(rs) == 0 {
				fmt.Fprintln(out, "no applied migrations")
			}
			return err
		}, false, nil
	case "status":
		if len(args) > 0 {
			return nil, false, fmt.Errorf("migrate status: unexpected arguments %q", args)
		}
		return printStatus, false, nil
	case "resolve":
		fs := flag.NewFlagSet("migrate resolve", flag.ContinueOnError)
		version := fs.Int64("version", 0, "the migration to resolve")
		applied := fs.Bool("applied", false, "its change took effect: record it as applied")
		pending := fs.Bool("pending", false, "its change did not take effect (or was undone by hand): the next up runs it again")
		if err := fs.Parse(args); err != nil {
			return nil, false, err
		}
		switch {
		case fs.NArg() > 0:
			return nil, false, fmt.Errorf("migrate resolve: unexpected arguments %q\n%s", fs.Args(), migrateUsage)
		case *version < 1:
			return nil, false, errors.New("migrate resolve: -version V is required (a positive version)")
		case *applied == *pending:
			return nil, false, errors.New("migrate resolve: give one of -applied or -pending")
		}
		return func(ctx context.Context, m *migrate.Migrator, out io.Writer) error {
			if err := m.Resolve(ctx, *version, *applied); err != nil {
				return err
			}
			state := map[bool]string{true: "applied", false: "pending"}[*applied]
			fmt.Fprintf(out, "resolved version %d as %s\n", *version, state)
			return nil
		}, false, nil
	}
	return nil, false, fmt.Errorf("migrate: unknown command %q\n%s", sub, migrateUsage)
}

// printStatus prints a table of the migrations, then each migration in error; it
// fails if any is.
func printStatus(ctx context.Context, m *migrate.Migrator, out io.Writer) error {
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tSTATE\tAPPLIED AT\tDURATION")
	var bad []error
	for _, s := range st {
		at, took := "-", "-"
		if !s.AppliedAt.IsZero() {
			at, took = s.AppliedAt.Local().Format(time.DateTime), s.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Label(), s.State, at, took)
		if s.Err != nil {
			bad = append(bad, s.Err)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range bad {
		fmt.Fprintln(out, "error:", e)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d migration(s) in error", len(bad))
	}
	return nil
}
