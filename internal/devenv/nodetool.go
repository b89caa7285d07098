package devenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// NodetoolAddr is the dev node's JMX address, which nodetool talks to.
const NodetoolAddr = "127.0.0.1:7199"

// Nodetool runs Cassandra's nodetool, from the node's own cached jars, against
// the dev node's JMX port with args (for example "flush", keyspace, table) and
// returns what it printed. Tests use it to flush memtables and compact, so
// that they read from SSTables as a long-running node would.
func (e *Env) Nodetool(ctx context.Context, args ...string) (string, error) {
	java, err := findJava17()
	if err != nil {
		return "", fmt.Errorf("nodetool %s: %w", strings.Join(args, " "), err)
	}
	lib := cassandraArtifact.lib(e.Cache)
	cp, err := classpath(e.path("cassandra", "conf"), lib)
	if err != nil {
		return "", fmt.Errorf("nodetool %s: %w", strings.Join(args, " "), err)
	}
	host, port, _ := strings.Cut(NodetoolAddr, ":")
	cmdArgs := append([]string{"-Xmx256m", "-Dlogback.configurationFile=" + e.path("cassandra", "conf", "logback.xml"),
		"-Dcassandra.logdir=" + e.path("cassandra", "logs", "nodetool")}, cassandraJVM17...)
	cmdArgs = append(cmdArgs, "-cp", cp, "org.apache.cassandra.tools.NodeTool", "-h", host, "-p", port)
	cmd := exec.CommandContext(ctx, java, append(cmdArgs, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nodetool %s: %w: %s (is the dev node up? make up)", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}
