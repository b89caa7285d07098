package devenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Cassandra run by the environment.
const (
	// CassandraVersion is the Apache Cassandra release resolved from Maven.
	CassandraVersion = "5.0.8"
	// CassandraAddr is where the node serves CQL (native protocol).
	CassandraAddr = "127.0.0.1:9042"
)

var cassandraArtifact = artifact{
	name: "cassandra", version: CassandraVersion,
	coords: []string{"org.apache.cassandra:cassandra-all:" + CassandraVersion},
}

// cassandraYAML configures one node on 127.0.0.1 tuned to start fast on a
// small machine. Settings left out keep Cassandra 5.0's defaults (SAI and
// vector indexes are built in; batch size thresholds stay 5 KiB / 50 KiB).
var cassandraYAML = template.Must(template.New("cassandra.yaml").Parse(`# Written by cassandraorm dev up; rewritten on every start.
cluster_name: cassandraorm-dev
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:7000"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: 7000
native_transport_port: 9042
start_native_transport: true
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer
data_file_directories:
  - {{.Dir}}/data
commitlog_directory: {{.Dir}}/commitlog
saved_caches_directory: {{.Dir}}/saved_caches
hints_directory: {{.Dir}}/hints
cdc_raw_directory: {{.Dir}}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
auto_snapshot: false
snapshot_before_compaction: false
incremental_backups: false
storage_compatibility_mode: NONE
default_secondary_index: sai
default_secondary_index_enabled: true
sasi_indexes_enabled: false
materialized_views_enabled: false
user_defined_functions_enabled: false
drop_compact_storage_enabled: false
hinted_handoff_enabled: false
dynamic_snitch: false
`))

var cassandraLogback = `<configuration scan="false">
  <!-- Written by cassandraorm dev up. -->
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`

// cassandraJVM17 are the module exports and opens that Cassandra 5.0
// needs on Java 17 (after the jvm17-server.options it ships).
var cassandraJVM17 = []string{
	"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
	"--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
	"--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
	"--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
	"--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
	"--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
	"--add-exports", "java.sql/java.sql=ALL-UNNAMED",
	"--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
	"--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
	"--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
	"--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
	"--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
	"--add-opens", "java.base/java.io=ALL-UNNAMED",
	"--add-opens", "java.base/java.nio=ALL-UNNAMED",
	"--add-opens", "java.base/java.util=ALL-UNNAMED",
	"--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
	"--add-opens", "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang=ALL-UNNAMED",
	"--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
	"--add-opens", "java.base/java.math=ALL-UNNAMED",
	"--add-opens", "java.base/java.net=ALL-UNNAMED",
}

func (e *Env) cassandra() *service {
	dir := e.path("cassandra")
	return &service{
		name: "cassandra", version: CassandraVersion,
		addr:         CassandraAddr,
		ports:        []string{CassandraAddr, "127.0.0.1:7000", "127.0.0.1:7199"},
		proc:         proc{pidFile: e.path("cassandra.pid"), marker: "org.apache.cassandra.service.CassandraDaemon"},
		console:      filepath.Join(dir, "logs", "stdout.log"),
		logs:         []string{filepath.Join(dir, "logs", "system.log")},
		command:      func(_ context.Context, t tools) (*exec.Cmd, error) { return e.cassandraCommand(t) },
		ready:        func(ctx context.Context) error { _, err := CassandraVersionAt(ctx, CassandraAddr); return err },
		startTimeout: 4 * time.Minute,
		stopWait:     45 * time.Second,
	}
}

// cassandraCommand writes the node's configs and builds its java command.
func (e *Env) cassandraCommand(t tools) (*exec.Cmd, error) {
	dir := e.path("cassandra")
	conf, logs := filepath.Join(dir, "conf"), filepath.Join(dir, "logs")
	for _, d := range []string{conf, logs, "data", "commitlog", "saved_caches", "hints", "cdc_raw", "triggers"} {
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	yamlPath := filepath.Join(conf, "cassandra.yaml")
	if err := writeTemplate(yamlPath, cassandraYAML, map[string]string{"Dir": dir}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(conf, "logback.xml"), []byte(cassandraLogback), 0o644); err != nil {
		return nil, err
	}
	lib := cassandraArtifact.lib(e.Cache)
	cp, err := classpath(conf, lib)
	if err != nil {
		return nil, err
	}
	jamm, _ := filepath.Glob(filepath.Join(lib, "jamm-*.jar"))
	if len(jamm) == 0 {
		return nil, fmt.Errorf("no jamm jar in %s: delete %s and run dev up again", lib, cassandraArtifact.home(e.Cache))
	}
	args := []string{
		"-Xms1g", "-Xmx1g", "-Xss512k",
		"-XX:+UseG1GC", "-XX:+ParallelRefProcEnabled", "-XX:MaxGCPauseMillis=300",
		"-XX:+HeapDumpOnOutOfMemoryError", "-XX:+ExitOnOutOfMemoryError", "-XX:+PerfDisableSharedMem",
		"-Djdk.attach.allowAttachSelf=true",
		"-javaagent:" + jamm[0],
	}
	args = append(args, cassandraJVM17...)
	args = append(args,
		"-Djava.net.preferIPv4Stack=true",
		"-Dio.netty.tryReflectionSetAccessible=true",
		"-Dcassandra.config=file://"+yamlPath,
		"-Dcassandra.storagedir="+dir,
		"-Dcassandra.logdir="+logs,
		"-Dcassandra.triggers_dir="+filepath.Join(dir, "triggers"),
		"-Dlogback.configurationFile="+filepath.Join(conf, "logback.xml"),
		"-Dcassandra-foreground=no",
		"-Dcassandra.jmx.local.port=7199",
		// One node, nobody to gossip with: skip the waits meant for clusters.
		"-Dcassandra.skip_wait_for_gossip_to_settle=0",
		"-Dcassandra.ring_delay_ms=100",
		"-Dcassandra.superuser_setup_delay_ms=0",
		"-Dcassandra.migration_task_wait_in_seconds=0",
		"-cp", cp,
		"org.apache.cassandra.service.CassandraDaemon",
	)
	cmd := exec.Command(t.java, args...)
	cmd.Dir = dir
	return cmd, nil
}

// CassandraVersionAt asks the node at addr for its release_version over CQL.
func CassandraVersionAt(ctx context.Context, addr string) (string, error) {
	cluster := gocql.NewCluster(addr)
	cluster.Timeout = 5 * time.Second
	cluster.ConnectTimeout = 5 * time.Second
	cluster.DisableInitialHostLookup = true
	cluster.NumConns = 1
	s, err := cluster.CreateSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var v string
	err = s.Query("SELECT release_version FROM system.local").ScanContext(ctx, &v)
	return v, err
}

func writeTemplate(path string, t *template.Template, data any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
