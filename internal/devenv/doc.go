// Package devenv runs the local development environment of cassandraorm-go:
// one Apache Cassandra 5.0 node, one Redis server and, on request, one Kafka
// 4.1 broker in KRaft mode, all bound to 127.0.0.1 and run as plain processes
// (no containers).
//
// The servers' jars are resolved once from Maven Central into a cache folder
// outside the repository; their data, logs and pid files live in the state
// folder (".dev" under the module root). Only processes recorded in that
// folder are ever stopped.
//
// A minimal use, as the CLI does it:
//
//	env, err := devenv.Load(os.Stdout)
//	if err != nil { ... }
//	err = env.Up(ctx, devenv.UpOptions{Kafka: true})
package devenv
