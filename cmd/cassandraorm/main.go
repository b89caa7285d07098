// Command cassandraorm is the cassandraorm-go toolkit's CLI.
//
//	cassandraorm dev up [--with kafka]   start Cassandra and Redis (and Kafka)
//	cassandraorm dev down                stop them
//	cassandraorm dev status              show what runs where
//	cassandraorm dev logs [service]      tail a server's log
//	cassandraorm dev reset               stop and delete all local state
//	cassandraorm migrate -keyspace ks up|down|status|resolve
//	                                     apply or roll back .cql migrations
//	cassandraorm migrate -keyspace shared up -all-tenants
//	                                     ... in the shared keyspace and every tenant keyspace
//	cassandraorm tenant -keyspace shared create|list|suspend|resume|delete
//	                                     run the tenant registry's lifecycle
//	cassandraorm saga -keyspace ks list|show ID
//	                                     list sagas; show one's state and attempts
//	cassandraorm recommend eval          evaluate the recommenders on MovieLens 100k
//	cassandraorm analyze -keyspace ks 'CQL' | -f file
//	                                     explain a statement's access path, findings, fixes
//
// Each command prints its own help with -h.
package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(args []string) error
}

// commands is filled by the files that implement each subcommand.
var commands = map[string]command{}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "cassandraorm: unknown command %q\n", name)
		usage()
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "cassandraorm %s: %v\n", name, err)
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cassandraorm <command> [arguments]\n\ncommands:")
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun cassandraorm <command> -h for a command's flags.")
}
