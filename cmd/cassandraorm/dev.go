package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

func init() {
	commands["dev"] = command{summary: "run the local Cassandra, Redis and Kafka (up, down, status, logs, reset)", run: runDev}
}

const devUsage = `usage: cassandraorm dev <up [--with kafka] | down | status | logs [cassandra|redis|kafka] [-n lines] | reset>`

func runDev(args []string) error {
	if len(args) == 0 {
		return errors.New(devUsage)
	}
	env, err := devenv.Load(os.Stdout)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sub, args := args[0], args[1:]
	switch sub {
	case "up":
		fs := flag.NewFlagSet("dev up", flag.ContinueOnError)
		with := fs.String("with", "", "optional server to start as well: kafka")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *with != "" && *with != "kafka" {
			return fmt.Errorf("--with %q: only kafka is optional", *with)
		}
		return env.Up(ctx, devenv.UpOptions{Kafka: *with == "kafka"})
	case "down":
		return env.Down(ctx)
	case "status":
		env.PrintStatus(ctx, os.Stdout)
		return nil
	case "logs":
		fs := flag.NewFlagSet("dev logs", flag.ContinueOnError)
		n := fs.Int("n", 50, "number of lines")
		// Accept the service before or after -n.
		name := ""
		if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
			name, args = args[0], args[1:]
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if name == "" && fs.NArg() > 0 {
			name = fs.Arg(0)
		}
		return env.Logs(name, *n, os.Stdout)
	case "reset":
		return env.Reset(ctx)
	default:
		return fmt.Errorf("unknown dev command %q\n%s", sub, devUsage)
	}
}
