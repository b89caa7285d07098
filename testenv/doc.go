// Package testenv connects the integration tests of every package to the
// real servers of the development environment (Cassandra, Redis, Kafka),
// each test package run in its own keyspace, dropped at the end.
//
// A server that does not answer fails the test with the address, the cause
// and the command that starts it; tests are never skipped, so a green run
// means the code was exercised against real servers.
//
//	var env = testenv.New("orm_test")
//
//	func TestMain(m *testing.M) { env.Main(m) }
//
//	func TestInsert(t *testing.T) {
//		s := env.Session(t)
//		...
//	}
//
// Addresses come from CASSANDRA_HOSTS (comma separated), REDIS_ADDR and
// KAFKA_BROKERS (comma separated); the defaults are the ones `make up`
// serves on 127.0.0.1.
package testenv
