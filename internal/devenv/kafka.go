package devenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka run by the environment.
const (
	// KafkaVersion is the Apache Kafka release resolved from Maven.
	KafkaVersion = "4.1.1"
	// KafkaAddr is the broker's client listener.
	KafkaAddr = "127.0.0.1:9092"
	// kafkaController is the KRaft controller listener.
	kafkaController = "127.0.0.1:9093"
)

// The Maven artifact carries no SLF4J binding; log4j-slf4j-impl is the one
// Kafka's own distribution ships, so its logs reach the log4j2 config below.
var kafkaArtifact = artifact{
	name: "kafka", version: KafkaVersion,
	coords: []string{
		"org.apache.kafka:kafka_2.13:" + KafkaVersion,
		"org.apache.logging.log4j:log4j-slf4j-impl:2.24.3",
	},
}

// kafkaProperties is one combined broker and controller (KRaft), with
// single-replica internal topics so that one node suffices.
var kafkaProperties = template.Must(template.New("server.properties").Parse(`# Written by cassandraorm dev up; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@` + kafkaController + `
listeners=PLAINTEXT://` + KafkaAddr + `,CONTROLLER://` + kafkaController + `
advertised.listeners=PLAINTEXT://` + KafkaAddr + `
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={{.Dir}}/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
`))

var kafkaLog4j2 = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by cassandraorm dev up. -->
<Configuration status="WARN">
  <Appenders>
    <File name="File" fileName="${sys:kafka.logs.dir}/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.kafka" level="INFO"/>
    <Logger name="kafka" level="INFO"/>
    <Root level="INFO"><AppenderRef ref="File"/></Root>
  </Loggers>
</Configuration>
`

func (e *Env) kafka() *service {
	dir := e.path("kafka")
	return &service{
		name: "kafka", version: KafkaVersion,
		addr:         KafkaAddr,
		ports:        []string{KafkaAddr, kafkaController},
		proc:         proc{pidFile: e.path("kafka.pid"), marker: "kafka.Kafka"},
		console:      filepath.Join(dir, "logs", "stdout.log"),
		logs:         []string{filepath.Join(dir, "logs", "server.log")},
		command:      e.kafkaCommand,
		ready:        func(ctx context.Context) error { return PingKafka(ctx, []string{KafkaAddr}) },
		startTimeout: 2 * time.Minute,
		stopWait:     30 * time.Second,
	}
}

// kafkaCommand writes the broker's configs, formats its storage the first
// time, and builds its java command.
func (e *Env) kafkaCommand(ctx context.Context, t tools) (*exec.Cmd, error) {
	dir := e.path("kafka")
	conf, logs, data := filepath.Join(dir, "conf"), filepath.Join(dir, "logs"), filepath.Join(dir, "data")
	for _, d := range []string{conf, logs, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	props := filepath.Join(conf, "server.properties")
	if err := writeTemplate(props, kafkaProperties, map[string]string{"Dir": dir}); err != nil {
		return nil, err
	}
	log4j := filepath.Join(conf, "log4j2.xml")
	if err := os.WriteFile(log4j, []byte(kafkaLog4j2), 0o644); err != nil {
		return nil, err
	}
	cp, err := classpath(conf, kafkaArtifact.lib(e.Cache))
	if err != nil {
		return nil, err
	}
	jvm := []string{
		"-Xms512m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-Djava.awt.headless=true",
		"-Dkafka.logs.dir=" + logs,
		"-Dlog4j2.configurationFile=file:" + log4j,
		"-cp", cp,
	}
	if _, err := os.Stat(filepath.Join(data, "meta.properties")); os.IsNotExist(err) {
		if err := e.formatKafka(ctx, t.java, jvm, props); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(t.java, append(jvm, "kafka.Kafka", props)...)
	cmd.Dir = dir
	return cmd, nil
}

// formatKafka writes the KRaft metadata of a new cluster into log.dirs.
func (e *Env) formatKafka(ctx context.Context, java string, jvm []string, props string) error {
	// A random id in Kafka's form, base64url of 16 bytes, drawn again when it
	// starts with '-', which the tool's argument parser takes for an option
	// (Kafka's own Uuid.randomUuid does the same).
	var clusterID string
	for clusterID == "" || clusterID[0] == '-' {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return err
		}
		clusterID = base64.RawURLEncoding.EncodeToString(id)
	}
	start := time.Now()
	args := append(append([]string(nil), jvm...), "kafka.tools.StorageTool", "format",
		"--cluster-id", clusterID, "--config", props, "--ignore-formatted")
	out, err := exec.CommandContext(ctx, java, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("format KRaft storage: %v: %s", err, lastLines(strings.TrimSpace(string(out)), 10))
	}
	e.printf("formatted kafka storage (cluster id %s) in %s", clusterID, since(start))
	return nil
}

// PingKafka checks that a broker of brokers answers a metadata request.
func PingKafka(ctx context.Context, brokers []string) error {
	c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTimeout(2*time.Second), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Ping(ctx)
}
