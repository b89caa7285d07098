package devenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Env is the development environment of one checkout: where its state and
// the shared jar cache live, and where progress is reported.
// An Env is not safe for concurrent use.
type Env struct {
	// Root is the module root (the folder holding go.mod).
	Root string
	// Dir is the state folder: configs, data, logs and pid files.
	Dir string
	// Cache is the folder the server jars are resolved into.
	Cache string
	// Out receives progress lines.
	Out io.Writer
}

// Load finds the module root from the working directory and applies the
// CASSANDRAORM_DEV_DIR and CASSANDRAORM_CACHE overrides.
func Load(out io.Writer) (*Env, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return nil, err
	}
	dir := os.Getenv("CASSANDRAORM_DEV_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".dev")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	return &Env{Root: root, Dir: dir, Cache: cache, Out: out}, nil
}

// moduleRoot walks up from dir to the first folder holding go.mod.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run from inside the cassandraorm-go checkout", dir)
		}
	}
}

// cacheDir is $CASSANDRAORM_CACHE, else $XDG_CACHE_HOME/cassandraorm, else
// ~/.cache/cassandraorm.
func cacheDir() (string, error) {
	if d := os.Getenv("CASSANDRAORM_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "cassandraorm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no home folder: set CASSANDRAORM_CACHE to a folder for the server jars")
	}
	return filepath.Join(home, ".cache", "cassandraorm"), nil
}

// path joins elements under the state folder.
func (e *Env) path(elem ...string) string {
	return filepath.Join(append([]string{e.Dir}, elem...)...)
}

func (e *Env) printf(format string, args ...any) {
	fmt.Fprintf(e.Out, format+"\n", args...)
}
