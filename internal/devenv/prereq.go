package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// tools are the programs the servers run on, and the browser the web
// tests drive.
type tools struct {
	java, mvn, redis, chromium string
}

// dejavuFont is a file of Debian's fonts-dejavu-core, which headless
// Chromium needs to render text in the web tests' screenshots.
const dejavuFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// javaVersion matches the major version in `java -version` output, e.g.
// `openjdk version "17.0.15"`.
var javaVersion = regexp.MustCompile(`version "(\d+)`)

// findJava17 returns a Java 17 binary: $JAVA_HOME/bin/java, java on PATH,
// or Debian's openjdk-17 location. Cassandra 5.0 runs on 11 and 17 only and
// the JVM options used here are those for 17.
func findJava17() (string, error) {
	var candidates []string
	if h := os.Getenv("JAVA_HOME"); h != "" {
		candidates = append(candidates, filepath.Join(h, "bin", "java"))
	}
	if p, err := exec.LookPath("java"); err == nil {
		candidates = append(candidates, p)
	}
	debian, _ := filepath.Glob("/usr/lib/jvm/java-17-openjdk-*/bin/java")
	candidates = append(candidates, debian...)
	var seen []string
	for _, c := range candidates {
		out, err := exec.Command(c, "-version").CombinedOutput()
		if err != nil {
			continue
		}
		m := javaVersion.FindSubmatch(out)
		if m != nil && string(m[1]) == "17" {
			return c, nil
		}
		if m != nil {
			seen = append(seen, c+" is Java "+string(m[1]))
		}
	}
	if len(seen) > 0 {
		return "", fmt.Errorf("no Java 17 (%s)", strings.Join(seen, ", "))
	}
	return "", fmt.Errorf("no java found")
}

// host is how lookTools sees the machine: the real one (realHost), or a
// test's.
type host struct {
	lookPath func(file string) (string, error)
	exists   func(path string) bool
	java     func() (string, error)
}

var realHost = host{
	lookPath: exec.LookPath,
	exists:   func(path string) bool { _, err := os.Stat(path); return err == nil },
	java:     findJava17,
}

// lookTools finds the tools on h. It returns what is missing, for people,
// and the Debian packages that provide it, in the same order.
func lookTools(h host, needMaven bool) (t tools, missing, packages []string) {
	var err error
	if t.java, err = h.java(); err != nil {
		missing, packages = append(missing, err.Error()), append(packages, "openjdk-17-jre-headless")
	}
	if needMaven {
		if t.mvn, err = h.lookPath("mvn"); err != nil {
			missing, packages = append(missing, "no mvn"), append(packages, "maven")
		}
	}
	if t.redis, err = h.lookPath("redis-server"); err != nil {
		missing, packages = append(missing, "no redis-server"), append(packages, "redis-server")
	}
	if t.chromium, err = h.lookPath("chromium"); err != nil {
		missing, packages = append(missing, "no chromium"), append(packages, "chromium")
	}
	if !h.exists(dejavuFont) {
		missing, packages = append(missing, "no "+dejavuFont), append(packages, "fonts-dejavu-core")
	}
	return t, missing, packages
}

// prerequisites finds the tools, installing missing ones with apt-get when
// running as root. needMaven is false when every artifact is cached.
func (e *Env) prerequisites(needMaven bool) (tools, error) {
	var t tools
	var missing, packages []string
	look := func() { t, missing, packages = lookTools(realHost, needMaven) }
	look()
	if len(missing) == 0 {
		return t, nil
	}
	command := "apt-get update && apt-get install -y " + strings.Join(packages, " ")
	if os.Geteuid() != 0 {
		return t, fmt.Errorf("missing prerequisites (%s): run `sudo sh -c '%s'` and then dev up again", strings.Join(missing, "; "), command)
	}
	e.printf("installing %s (%s) ...", strings.Join(packages, " "), strings.Join(missing, "; "))
	start := time.Now()
	if err := aptInstall(command); err != nil {
		return t, fmt.Errorf("%s failed (%v): run it by hand to see why, then dev up again", command, err)
	}
	e.printf("installed %s in %s", strings.Join(packages, " "), since(start))
	look()
	if len(missing) > 0 {
		return t, fmt.Errorf("still missing after apt-get install: %s", strings.Join(missing, "; "))
	}
	return t, nil
}

// aptInstall runs command through sh. A temporary policy-rc.d keeps the
// package scripts from starting Debian's own redis on 6379, which would
// then block ours.
func aptInstall(command string) error {
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		if os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755) == nil {
			defer os.Remove(policy)
		}
	}
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, lastLines(string(out), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// since formats the time elapsed since start as seconds with one decimal.
func since(start time.Time) string {
	return fmt.Sprintf("%.1fs", time.Since(start).Seconds())
}
