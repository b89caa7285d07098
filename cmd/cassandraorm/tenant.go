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
	"unicode"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

func init() {
	commands["tenant"] = command{summary: "create, list, suspend, resume or delete the tenants of the tenant registry", run: runTenant}
}

const tenantUsage = `usage: cassandraorm tenant [-hosts host:port,...] -keyspace shared [registry flags] <command>

commands:
  create -id ID [-name N] [-strategy partition|keyspace] [-migrations DIR]
        provision a tenant: record it, create its own keyspace (keyspace strategy),
        apply the .cql migrations of DIR in its keyspace (partition strategy: in the
        shared keyspace, where they are usually applied already), and make it
        active. Run it again after a failure: it goes on where it stopped.
  list  list the tenants: id, name, strategy, status, keyspace, created
  suspend -id ID
        refuse the tenant's requests (the applications see it within their
        registry's MaxStaleness, 5s by default)
  resume -id ID
        serve a suspended tenant again
  delete -id ID [-orphan-rows]
        delete a tenant: drop its keyspace (keyspace strategy) and remove it from
        the registry. Run it again after a failure: it goes on.

The application's models are synced by the application, when it provisions a tenant
itself (registry.Schema.Models): this command knows no models, so it only applies
migrations. For the same reason it cannot purge the rows of a partition-strategy
tenant from the shared tables: delete those from the application (Registry.Delete
with Schema.Models), or pass -orphan-rows to remove the tenant and leave its rows.

registry flags (-registry-table, -prefix, -max-keyspace-tenants, -replication): give
them the values of the applications' registry.Config`

func runTenant(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return tenantCmd(ctx, args, os.Stdout, os.Stderr)
}

// registryFlags are the flags that configure the registry, shared by `tenant` and
// `migrate up -all-tenants`.
type registryFlags struct {
	table, prefix, replication *string
	ceiling                    *int
}

func addRegistryFlags(fs *flag.FlagSet) registryFlags {
	return registryFlags{
		table:       fs.String("registry-table", registry.DefaultTable, "the tenant registry's table in the shared keyspace (registry.Config.Table)"),
		prefix:      fs.String("prefix", registry.DefaultKeyspacePrefix, "the prefix of keyspace-strategy tenants' keyspaces (registry.Config.KeyspacePrefix)"),
		ceiling:     fs.Int("max-keyspace-tenants", registry.DefaultMaxKeyspaceTenants, "the most keyspace-strategy tenants, 0 for none (registry.Config.MaxKeyspaceTenants)"),
		replication: fs.String("replication", "simple:1", "the replication of new tenant keyspaces: simple:N (SimpleStrategy, for development) or dc1=3,dc2=3 (NetworkTopologyStrategy)"),
	}
}

// config returns the registry configuration the flags give.
func (f registryFlags) config() (registry.Config, error) {
	rep, err := parseReplication(*f.replication)
	if err != nil {
		return registry.Config{}, err
	}
	cfg := registry.Config{Table: *f.table, KeyspacePrefix: *f.prefix, MaxKeyspaceTenants: *f.ceiling, Replication: rep}
	if *f.ceiling == 0 {
		cfg.MaxKeyspaceTenants = -1 // zero means none here, not the default
	}
	return cfg, cfg.Validate()
}

// parseReplication reads simple:N or dc=N,dc=N.
func parseReplication(s string) (orm.Replication, error) {
	bad := fmt.Errorf("-replication %q: want simple:N or dc1=N,dc2=N with N at least 1", s)
	if rest, ok := strings.CutPrefix(s, "simple:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			return orm.Replication{}, bad
		}
		return orm.SimpleStrategy(n), nil
	}
	dcs := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		dc, nText, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(nText)
		if !ok || err != nil || n < 1 || orm.CheckIdent("data center", dc) != nil {
			return orm.Replication{}, bad
		}
		dcs[dc] = n
	}
	return orm.NetworkTopology(dcs), nil
}

// tenantCmd runs `cassandraorm tenant args`, printing results to out and flag errors
// to errOut.
func tenantCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("tenant", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(errOut, tenantUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	hosts := fs.String("hosts", devenv.CassandraAddr, "Cassandra contact points, comma separated")
	keyspace := fs.String("keyspace", "", "the shared keyspace, which holds the registry (required)")
	create := fs.Bool("create-keyspace", false, "create the shared keyspace if it does not exist (SimpleStrategy, replication factor 1: for development)")
	rf := addRegistryFlags(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New(tenantUsage)
	}
	if *keyspace == "" {
		return errors.New("-keyspace is required\n" + tenantUsage)
	}
	cfg, err := rf.config()
	if err != nil {
		return err
	}
	run, err := parseTenantCommand(fs.Arg(0), fs.Args()[1:], errOut)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}

	db, err := openShared(ctx, *hosts, *keyspace, *create)
	if err != nil {
		return err
	}
	defer db.Close()
	reg, err := registry.New(db, cfg)
	if err != nil {
		return err
	}
	if err := reg.Sync(ctx); err != nil {
		return err
	}
	return run(ctx, reg, out)
}

// openShared connects to the shared keyspace, creating it if create is set, else
// failing if it does not exist.
func openShared(ctx context.Context, hosts, keyspace string, create bool) (*orm.DB, error) {
	db, err := orm.Open(ctx, orm.Config{Hosts: strings.Split(hosts, ","), Keyspace: keyspace})
	if err != nil {
		return nil, err
	}
	if create {
		if err := db.CreateKeyspace(ctx, keyspace, orm.SimpleStrategy(1)); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	exists, err := db.KeyspaceExists(ctx, keyspace)
	if err == nil && !exists {
		err = fmt.Errorf("keyspace %s does not exist: create it, or pass -create-keyspace for a development keyspace", keyspace)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// tenantRun is a parsed tenant subcommand, ready to run on a synced registry.
type tenantRun func(ctx context.Context, reg *registry.Registry, out io.Writer) error

// parseTenantCommand reads the subcommand and its flags, before anything connects.
func parseTenantCommand(sub string, args []string, errOut io.Writer) (tenantRun, error) {
	fs := flag.NewFlagSet("tenant "+sub, flag.ContinueOnError)
	fs.SetOutput(errOut)
	var id *string
	if sub != "list" {
		id = fs.String("id", "", "the tenant's id (required)")
	}
	parse := func() error {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("tenant %s: unexpected arguments %q\n%s", sub, fs.Args(), tenantUsage)
		}
		if id != nil && *id == "" {
			return fmt.Errorf("tenant %s: -id is required", sub)
		}
		return nil
	}
	switch sub {
	case "create":
		name := fs.String("name", "", "the tenant's display name")
		strategy := fs.String("strategy", string(registry.PartitionStrategy), "partition (rows in the shared tables) or keyspace (a keyspace of its own)")
		dir := fs.String("migrations", "", "a directory of NNNN_name.up.cql migrations to apply for the tenant")
		if err := parse(); err != nil {
			return nil, err
		}
		if *dir != "" {
			if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("migrations directory %s: not a directory (%v)", *dir, err)
			}
		}
		return func(ctx context.Context, reg *registry.Registry, out io.Writer) error {
			schema, err := cliSchema(reg, *dir, out)
			if err != nil {
				return err
			}
			t, err := reg.Provision(ctx, registry.Spec{ID: *id, Name: *name, Strategy: registry.Strategy(*strategy)}, schema)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "tenant %s: %s (%s)\n", t.ID, t.Status, placement(t))
			return nil
		}, nil
	case "list":
		if err := parse(); err != nil {
			return nil, err
		}
		return printTenants, nil
	case "suspend", "resume":
		if err := parse(); err != nil {
			return nil, err
		}
		return func(ctx context.Context, reg *registry.Registry, out io.Writer) error {
			change, done := reg.Suspend, "suspended"
			if sub == "resume" {
				change, done = reg.Resume, "active"
			}
			if err := change(ctx, *id); err != nil {
				return err
			}
			fmt.Fprintf(out, "tenant %s: %s\n", *id, done)
			return nil
		}, nil
	case "delete":
		orphans := fs.Bool("orphan-rows", false, "delete a partition-strategy tenant although its rows in the shared tables stay (this command cannot purge them)")
		if err := parse(); err != nil {
			return nil, err
		}
		return func(ctx context.Context, reg *registry.Registry, out io.Writer) error {
			t, err := reg.Get(ctx, *id)
			if err != nil {
				return err
			}
			if t.Strategy == registry.PartitionStrategy && !*orphans {
				return fmt.Errorf("tenant %s uses the partition strategy: its rows live in the shared tables, and this command "+
					"cannot purge them (it does not know the application's models). Delete it from the application "+
					"(Registry.Delete with Schema.Models), or pass -orphan-rows to remove it and leave its rows", t.ID)
			}
			if err := reg.Delete(ctx, *id, registry.Schema{}); err != nil {
				return err
			}
			if t.Keyspace != "" {
				fmt.Fprintf(out, "tenant %s: deleted (keyspace %s dropped)\n", t.ID, t.Keyspace)
			} else {
				fmt.Fprintf(out, "tenant %s: deleted (its rows in the shared tables were left)\n", t.ID)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("tenant: unknown command %q\n%s", sub, tenantUsage)
}

// cliSchema is the schema the CLI can provision: no models, and the migrations of
// dir (if given) run by a Migrator on the registry's tenanted DB, printing each one
// applied to out.
func cliSchema(reg *registry.Registry, dir string, out io.Writer) (registry.Schema, error) {
	if dir == "" {
		return registry.Schema{}, nil
	}
	m, err := migrate.New(reg.DB(), migrate.Config{Progress: func(e migrate.Event) { fmt.Fprintln(out, e) }})
	if err != nil {
		return registry.Schema{}, err
	}
	if err := m.AddFS(os.DirFS(dir), "."); err != nil {
		return registry.Schema{}, fmt.Errorf("%s: %w", dir, err)
	}
	return registry.Schema{Migrate: func(ctx context.Context) error { _, err := m.Up(ctx); return err }}, nil
}

// placement describes where a tenant's rows live.
func placement(t registry.Tenant) string {
	if t.Keyspace != "" {
		return fmt.Sprintf("%s strategy, keyspace %s", t.Strategy, t.Keyspace)
	}
	return fmt.Sprintf("%s strategy, in the shared tables", t.Strategy)
}

// printable replaces the control characters of s, which would break the table.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// printTenants prints a table of the tenants.
func printTenants(ctx context.Context, reg *registry.Registry, out io.Writer) error {
	ts, err := reg.List(ctx)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		fmt.Fprintln(out, "no tenants")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTRATEGY\tSTATUS\tKEYSPACE\tCREATED")
	for _, t := range ts {
		name, ks := printable(t.Name), t.Keyspace
		if name == "" {
			name = "-"
		}
		if ks == "" {
			ks = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, name, t.Strategy, t.Status, ks, t.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}
