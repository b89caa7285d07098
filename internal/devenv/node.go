package devenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// NodeModules returns a folder of the cache holding the npm packages that the
// package.json and package-lock.json of dir pin, installed with `npm ci` from
// the npm registry, and a node_modules folder beside them. Run node with its
// working directory there (or NODE_PATH set to its node_modules) so that the
// scripts of dir find their packages. The folder is made on first use and again
// when either file changes; npm's output of a failure is in the error.
func (e *Env) NodeModules(ctx context.Context, dir string) (string, error) {
	var want []byte
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("node packages of %s: %w", dir, err)
		}
		want = append(want, b...)
	}
	sum := sha256.Sum256(want)
	home := filepath.Join(e.Cache, "node", filepath.Base(dir)+"-"+hex.EncodeToString(sum[:8]))
	marker := filepath.Join(home, ".installed")
	if have, err := os.ReadFile(marker); err == nil && bytes.Equal(have, sum[:]) {
		return home, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("node packages of %s: npm not found (install Node.js 20 or later with npm)", dir)
	}
	// Install into a folder of this call and rename it into place, so that two
	// processes installing at once never see each other's half.
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(home), filepath.Base(home)+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", err
		}
	}
	e.printf("installing the node packages of %s into %s ...", dir, home)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci for %s in %s: %w (check access to registry.npmjs.org):\n%s", dir, tmp, err, lastLines(string(out), 20))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".installed"), sum[:], 0o644); err != nil {
		return "", err
	}
	if _, err := os.Stat(marker); err != nil {
		_ = os.RemoveAll(home) // a half-made folder of an older layout
	}
	if err := os.Rename(tmp, home); err != nil {
		// Another process got there first: use its folder if it is whole.
		if have, rerr := os.ReadFile(marker); rerr == nil && bytes.Equal(have, sum[:]) {
			return home, nil
		}
		return "", fmt.Errorf("node packages of %s: %w", dir, err)
	}
	e.printf("installed the node packages of %s in %s", dir, since(start))
	return home, nil
}
