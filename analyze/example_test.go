package analyze_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/cassandraorm/cassandraorm-go/analyze"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

const exampleSchema = `
CREATE TABLE orders (tenant text, user_id uuid, created timeuuid, status text, total int,
    PRIMARY KEY ((tenant, user_id), created)) WITH CLUSTERING ORDER BY (created DESC);
CREATE INDEX orders_status ON orders (status) USING 'sai';`

// A statement analysed against a schema given as a script: no server needed.
func Example() {
	schema, err := analyze.SchemaFromCQL("shop", exampleSchema)
	if err != nil {
		log.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		log.Fatal(err)
	}
	r := a.Analyze("SELECT * FROM orders WHERE total > 100 LIMIT 10", analyze.Options{})
	if err := r.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// statement: SELECT * FROM orders WHERE total > 100 LIMIT 10
	//   table:   shop.orders
	//   access:  filtering_scan
	//   REFUSED: Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING
	//   [error] FILTERING_REQUIRED: Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING
	//     fix: index total with SAI and drop ALLOW FILTERING; or, for a hot query, keep a query table keyed by the restricted columns
	//       CREATE INDEX IF NOT EXISTS "orders_total_sai" ON shop.orders (total) USING 'sai'
	//       CREATE TABLE IF NOT EXISTS shop.orders_by_total (tenant text, user_id uuid, created timeuuid, status text, total int, bucket int, PRIMARY KEY ((bucket), total, tenant, user_id, created)) WITH CLUSTERING ORDER BY (total ASC, tenant ASC, user_id ASC, created DESC)
}

// The access path and findings of a few statements, read from the report's fields.
func ExampleAnalyzer_Analyze() {
	schema, err := analyze.SchemaFromCQL("shop", exampleSchema)
	if err != nil {
		log.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, cql := range []string{
		"SELECT * FROM orders WHERE tenant = ? AND user_id = ? LIMIT 20",
		"SELECT * FROM orders WHERE tenant = ? AND user_id = ?",
		"SELECT * FROM orders WHERE status = 'open' LIMIT 50",
		"SELECT * FROM orders",
	} {
		r := a.Analyze(cql, analyze.Options{})
		var found []string
		for _, f := range r.Findings {
			found = append(found, f.Code)
		}
		fmt.Println(r.Access, r.Refused, found)
	}
	// Output:
	// single_partition false []
	// single_partition false [UNBOUNDED_PARTITION]
	// index false []
	// full_scan false [FULL_TABLE_SCAN SCAN_WITHOUT_LIMIT]
}

// A statement the caller retries on timeouts is checked for idempotence.
func ExampleOptions() {
	schema, err := analyze.SchemaFromCQL("shop", "CREATE TABLE views (id int PRIMARY KEY, n counter)")
	if err != nil {
		log.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		log.Fatal(err)
	}
	r := a.Analyze("UPDATE views SET n = n + 1 WHERE id = ?", analyze.Options{Idempotent: true})
	fmt.Println(r.Idempotent, r.Findings[0].Severity, r.Findings[0].Code, r.Failed())
	// Output:
	// false error NON_IDEMPOTENT_RETRIED true
}

// A slow-query log fed by the ORM's observer (here with two events by hand).
func ExampleSlowLog() {
	schema, err := analyze.SchemaFromCQL("shop", exampleSchema)
	if err != nil {
		log.Fatal(err)
	}
	a, err := analyze.New(schema, analyze.Config{})
	if err != nil {
		log.Fatal(err)
	}
	slow, err := analyze.NewSlowLog(a, analyze.SlowLogConfig{})
	if err != nil {
		log.Fatal(err)
	}
	// orm.New(session, keyspace, slow) would feed it every statement the ORM runs.
	ctx := context.Background()
	slow.ObserveQuery(ctx, orm.QueryEvent{Statement: "SELECT * FROM orders WHERE status = 'open' LIMIT 5", Latency: 8 * time.Millisecond})
	slow.ObserveQuery(ctx, orm.QueryEvent{Statement: "SELECT * FROM orders WHERE status = 'paid' LIMIT 9", Latency: 4 * time.Millisecond})
	for _, s := range slow.Top(10) {
		fmt.Println(s.Count, s.Total, s.Mean, s.Statement, s.Report.Access)
	}
	// Output:
	// 2 12ms 6ms SELECT * FROM orders WHERE status = ? LIMIT ? index
}
