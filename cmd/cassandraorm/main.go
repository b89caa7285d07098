// Command cassandraorm is the cassandraorm-go toolkit's CLI.
//
//	cassandraorm dev up [--with kafka]   start Cassandra and Redis (and Kafka)
//	cassandraorm dev down                stop them
//	cassandraorm dev status              show what runs where
//	cassandraorm dev logs [service]      tail a server's log
//	cassandraorm dev reset               stop and delete all local state
package main

import (
	"fmt"
	"os"
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
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cassandraorm <command> [arguments]\n\ncommands:")
	for name, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, c.summary)
	}
}
