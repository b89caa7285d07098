package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// artifact is a server distributed as a Maven artifact and run from its
// runtime classpath.
type artifact struct {
	// name and version name the cache folder, e.g. cassandra-5.0.8.
	name, version string
	// coords are the groupId:artifactId:version to resolve, main first.
	coords []string
}

// dependencyPlugin is pinned so that a resolve does not depend on what the
// local Maven happens to default to.
const dependencyPlugin = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

var pomTemplate = template.Must(template.New("pom").Parse(`<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cassandraorm.dev</groupId>
  <artifactId>{{.Name}}</artifactId>
  <version>{{.Version}}</version>
  <packaging>pom</packaging>
  <dependencies>{{range .Deps}}
    <dependency><groupId>{{index . 0}}</groupId><artifactId>{{index . 1}}</artifactId><version>{{index . 2}}</version></dependency>{{end}}
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
`))

// home is the artifact's cache folder; lib holds its jars.
func (a artifact) home(cache string) string { return filepath.Join(cache, a.name+"-"+a.version) }
func (a artifact) lib(cache string) string  { return filepath.Join(a.home(cache), "lib") }

// marker exists once every jar was copied; without it a resolve starts over.
func (a artifact) marker(cache string) string { return filepath.Join(a.home(cache), ".complete") }

func (a artifact) cached(cache string) bool {
	_, err := os.Stat(a.marker(cache))
	return err == nil
}

// resolve copies the artifact and its runtime dependencies from Maven
// Central into the cache, once.
func (e *Env) resolve(a artifact, mvn string) error {
	if a.cached(e.Cache) {
		return nil
	}
	home, lib := a.home(e.Cache), a.lib(e.Cache)
	if err := os.RemoveAll(lib); err != nil {
		return err
	}
	if err := os.MkdirAll(lib, 0o755); err != nil {
		return fmt.Errorf("cache folder %s: %w (set CASSANDRAORM_CACHE to a writable folder)", home, err)
	}
	var deps [][]string
	for _, c := range a.coords {
		deps = append(deps, strings.Split(c, ":"))
	}
	pom, err := os.Create(filepath.Join(home, "pom.xml"))
	if err != nil {
		return err
	}
	err = pomTemplate.Execute(pom, map[string]any{"Name": a.name, "Version": a.version, "Deps": deps})
	if cerr := pom.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	e.printf("resolving %s with runtime dependencies from Maven Central into %s ...", a.coords[0], lib)
	start := time.Now()
	logPath := filepath.Join(home, "maven.log")
	cmd := exec.Command(mvn, "-B", "-ntp", "-f", pom.Name(),
		dependencyPlugin+":copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+lib)
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o644)
	if err != nil {
		return fmt.Errorf("maven could not resolve %s (%v); full log in %s; check access to repo.maven.apache.org (proxy settings in ~/.m2/settings.xml) and run dev up again:\n%s",
			a.coords[0], err, logPath, lastLines(mavenErrors(string(out)), 8))
	}
	jars, _ := filepath.Glob(filepath.Join(lib, "*.jar"))
	if err := os.WriteFile(a.marker(e.Cache), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	e.printf("resolved %s: %d jars in %s", a.coords[0], len(jars), since(start))
	return nil
}

// mavenErrors keeps the [ERROR] lines of a Maven run, or all of it if none.
func mavenErrors(out string) string {
	var errs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[ERROR]") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		return out
	}
	return strings.Join(errs, "\n")
}

// classpath is dir (for configs) followed by every jar of lib.
func classpath(dir, lib string) (string, error) {
	jars, err := filepath.Glob(filepath.Join(lib, "*.jar"))
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("no jars in %s: delete %s and run dev up again", lib, filepath.Dir(lib))
	}
	return strings.Join(append([]string{dir}, jars...), string(os.PathListSeparator)), nil
}
