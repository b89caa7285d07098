// Package analyze tells how Cassandra 5.0 will run a CQL statement: it parses the
// statement, checks it against the keyspace's schema (tables, keys, SAI and vector
// indexes), names the access path (single partition, multi-partition IN, token
// range, SAI index, ANN, filtering scan, full scan), says whether the server would
// refuse it and why, estimates the partitions and rows it touches from the node's
// statistics, flags anti-patterns, and proposes a concrete fix for each: the CREATE
// INDEX ... USING 'sai' DDL, a query table keyed for the access, a bucket column.
//
// The parser is hand-written (a lexer and a recursive-descent parser), not generated
// from the ANTLR grammars-v4 CQL grammar: that grammar is CQL 3 and predates
// Cassandra 5 (no vector type, no ORDER BY ... ANN OF, no SAI), and it could not be
// fetched here. The parser covers the CQL the toolkit's orm package builds and its
// users write: SELECT (JSON, DISTINCT, functions, aliases, every relation form,
// GROUP BY, ORDER BY with ANN OF, PER PARTITION LIMIT, LIMIT, ALLOW FILTERING),
// INSERT (VALUES or JSON, IF NOT EXISTS, USING), UPDATE (collection and counter
// operations, element assignment, IF), DELETE (columns, elements, ranges, IF),
// batches, and CREATE TABLE / CREATE INDEX for schemas given as scripts. Errors are
// *ParseError with the line, column and token; no input panics (a fuzz test checks).
//
// The refusal rules were each checked against a Cassandra 5.0.8 node: the package's
// live test runs every statement of its corpus on the node and checks that the
// server refuses exactly those the analyzer says it refuses.
//
//	schema, _ := analyze.LoadSchema(ctx, session, "shop") // or SchemaFromCQL
//	_ = analyze.LoadStats(ctx, session, schema)           // optional estimates
//	a, _ := analyze.New(schema, analyze.Config{})
//	r := a.Analyze("SELECT * FROM orders WHERE status = 'open'", analyze.Options{})
//	r.WriteText(os.Stdout)
//
// SlowLog is an orm.Observer that ranks the statements the ORM runs by total time,
// each with its analysis. docs/analyze.md describes the findings and the estimates.
package analyze
