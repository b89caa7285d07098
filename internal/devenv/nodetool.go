package devenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Nodetool runs Cassandra's nodetool (org.apache.cassandra.tools.NodeTool from the
// cached cassandra-all jars) against the dev node's JMX port, 127.0.0.1:7199, with
// args (e.g. "flush", "ks", "table"), and returns its combined output. It needs the
// jars `dev up` resolved and a JDK on PATH; an error carries nodetool's output.
func (e *Env) Nodetool(ctx context.Context, args ...string) ([]byte, error) {
	lib := cassandraArtifact.lib(e.Cache)
	jars, err := filepath.Glob(filepath.Join(lib, "*.jar"))
	if err != nil || len(jars) == 0 {
		return nil, fmt.Errorf("nodetool: no jars in %s: run dev up first", lib)
	}
	jvm := append([]string{"-Xmx128m"}, cassandraJVM17...)
	jvm = append(jvm, "-cp", strings.Join(jars, ":"), "org.apache.cassandra.tools.NodeTool", "-h", "127.0.0.1", "-p", "7199")
	cmd := exec.CommandContext(ctx, "java", append(jvm, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("nodetool %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}
