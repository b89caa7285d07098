package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Venv returns the python of a virtual environment in the cache, named name,
// with the pinned requirements file installed by pip from PyPI. It is
// created on first use and again when the requirements file changes; the
// pip output of a failure is in the error.
func (e *Env) Venv(ctx context.Context, name, requirements string) (string, error) {
	want, err := os.ReadFile(requirements)
	if err != nil {
		return "", err
	}
	home := filepath.Join(e.Cache, name)
	python := filepath.Join(home, "bin", "python")
	marker := filepath.Join(home, ".requirements")
	if have, err := os.ReadFile(marker); err == nil && bytes.Equal(have, want) {
		return python, nil
	}
	if err := os.RemoveAll(home); err != nil {
		return "", err
	}
	e.printf("creating the Python environment %s from %s ...", home, requirements)
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "python3", "-m", "venv", home).CombinedOutput(); err != nil {
		return "", fmt.Errorf("python3 -m venv %s: %w (install python3 with its venv module):\n%s", home, err, out)
	}
	if out, err := exec.CommandContext(ctx, python, "-m", "pip", "install", "--no-input", "-r", requirements).CombinedOutput(); err != nil {
		return "", fmt.Errorf("pip install -r %s into %s: %w (check access to pypi.org):\n%s", requirements, home, err, lastLines(string(out), 20))
	}
	if err := os.WriteFile(marker, want, 0o644); err != nil {
		return "", err
	}
	e.printf("created %s in %s", home, since(start))
	return python, nil
}
