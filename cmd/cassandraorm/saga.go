package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

func init() {
	commands["saga"] = command{summary: "list sagas, or show one saga's state and every attempt", run: runSaga}
}

const sagaUsage = `usage: cassandraorm saga [-hosts host:port,...] -keyspace ks [-table saga] [-tenant ID [registry flags]] <command>

commands:
  list [-status S] [-name N] [-limit 100]
        list sagas: id, name, status, step, attempt, updated, reason. It scans
        the saga table: an operator's tool.
  show ID
        one saga's state, then its history: each attempt of each step with its
        start, how long it took, and its error

-keyspace is the keyspace the application's saga tables live in (the shared
keyspace of a multi-tenant application); -table is its saga.Config.Table. With
-tenant, the tenant registry of that keyspace places the tenant (registry flags:
-registry-table, -prefix: give them the applications' registry.Config values)`

func runSaga(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sagaCmd(ctx, args, os.Stdout, os.Stderr)
}

// sagaCmd runs `cassandraorm saga args`, printing results to out and flag errors
// to errOut.
func sagaCmd(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("saga", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintln(errOut, sagaUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	hosts := fs.String("hosts", devenv.CassandraAddr, "Cassandra contact points, comma separated")
	keyspace := fs.String("keyspace", "", "the keyspace of the saga tables (required)")
	table := fs.String("table", "saga", "the saga tables' prefix (saga.Config.Table)")
	tenantID := fs.String("tenant", "", "the tenant whose sagas to read, on a multi-tenant application")
	rf := addRegistryFlags(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New(sagaUsage)
	}
	if *keyspace == "" {
		return errors.New("-keyspace is required\n" + sagaUsage)
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	sfs := flag.NewFlagSet("saga "+sub, flag.ContinueOnError)
	sfs.SetOutput(errOut)
	status := sfs.String("status", "", "list only sagas in this status (running, compensating, completed, compensated, compensation_failed)")
	name := sfs.String("name", "", "list only sagas of this definition")
	limit := sfs.Int("limit", 100, "list at most this many sagas")
	switch sub {
	case "list", "show":
	default:
		return fmt.Errorf("unknown saga command %q\n%s", sub, sagaUsage)
	}
	if err := sfs.Parse(rest); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if sub == "show" && sfs.NArg() != 1 {
		return errors.New("saga show takes one saga id")
	}
	if *status != "" && !slices.Contains([]saga.Status{saga.Running, saga.Compensating, saga.Completed, saga.Compensated, saga.CompensationFailed}, saga.Status(*status)) {
		return fmt.Errorf("-status %q: not a saga status", *status)
	}
	if *tenantID != "" {
		if err := tenant.Check(*tenantID); err != nil {
			return fmt.Errorf("-tenant: %w", err)
		}
	}

	db, err := openShared(ctx, *hosts, *keyspace, false)
	if err != nil {
		return err
	}
	defer db.Close()
	view := db
	if *tenantID != "" {
		cfg, err := rf.config()
		if err != nil {
			return err
		}
		reg, err := registry.New(db, cfg)
		if err != nil {
			return err
		}
		view = reg.DB()
		ctx = tenant.With(ctx, *tenantID)
	}
	o, err := saga.New(view, saga.Config{Table: *table})
	if err != nil {
		return err
	}
	if sub == "list" {
		l, err := o.List(ctx, saga.ListFilter{Name: *name, Status: saga.Status(*status), Limit: *limit})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tSTEP\tATTEMPT\tUPDATED\tREASON")
		for _, in := range l {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", printable(in.ID), in.Name, in.Status, dash(in.Step), in.Attempt,
				in.UpdatedAt.UTC().Format(time.RFC3339), printable(in.Reason))
		}
		return tw.Flush()
	}
	return showSaga(ctx, o, sfs.Arg(0), out)
}

// showSaga prints one saga's state and history.
func showSaga(ctx context.Context, o *saga.Orchestrator, id string, out io.Writer) error {
	in, err := o.Status(ctx, id)
	if err != nil {
		return err
	}
	h, err := o.History(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "saga %s (%s)", printable(in.ID), in.Name)
	if in.Tenant != "" {
		fmt.Fprintf(out, " of tenant %s", in.Tenant)
	}
	fmt.Fprintf(out, "\nstatus:   %s\n", in.Status)
	if !in.Status.Final() {
		fmt.Fprintf(out, "step:     %s (%s, attempt %d)\n", in.Step, in.Direction, in.Attempt)
		if !in.InFlightUntil.IsZero() {
			fmt.Fprintf(out, "in flight until %s\n", in.InFlightUntil.UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintf(out, "wakes at: %s\n", in.WakeAt.UTC().Format(time.RFC3339Nano))
	}
	if in.Reason != "" {
		fmt.Fprintf(out, "reason:   %s\n", printable(in.Reason))
	}
	fmt.Fprintf(out, "may have run, not compensated: %v\n", in.Ran)
	fmt.Fprintf(out, "version %d, epoch %d, owner %s\ncreated %s, updated %s\n\n", in.Version, in.Epoch, dash(in.Owner),
		in.CreatedAt.UTC().Format(time.RFC3339Nano), in.UpdatedAt.UTC().Format(time.RFC3339Nano))
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tAT\tEVENT\tSTEP\tDIRECTION\tATTEMPT\tTOOK\tERROR")
	for _, e := range h {
		took := "-"
		if e.Event == "succeeded" || e.Event == "failed" {
			took = e.Took.String()
		}
		attempt := "-"
		if e.Attempt > 0 {
			attempt = fmt.Sprint(e.Attempt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Version, e.At.UTC().Format("15:04:05.000"), e.Event, dash(e.Step),
			dash(string(e.Direction)), attempt, took, printable(e.Error))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
