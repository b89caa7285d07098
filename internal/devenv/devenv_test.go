package devenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := moduleRoot(deep)
	if err != nil || got != root {
		t.Fatalf("moduleRoot = %q, %v; want %q", got, err, root)
	}
}

func TestCacheDir(t *testing.T) {
	for _, tc := range []struct{ override, xdg, want string }{
		{"/tmp/jars", "/x", "/tmp/jars"},
		{"", "/x", "/x/cassandraorm"},
	} {
		t.Setenv("CASSANDRAORM_CACHE", tc.override)
		t.Setenv("XDG_CACHE_HOME", tc.xdg)
		if got, err := cacheDir(); err != nil || got != tc.want {
			t.Errorf("cacheDir with %+v = %q, %v", tc, got, err)
		}
	}
}

func TestCheckFreeNamesForeignPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = checkFree("redis", l.Addr().String())
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) || !strings.Contains(err.Error(), "not started by cassandraorm dev") {
		t.Fatalf("checkFree on a taken port: %v", err)
	}
	l.Close()
	if err := checkFree("redis", l.Addr().String()); err != nil {
		t.Fatalf("checkFree on a free port: %v", err)
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := tail(p, 2); err != nil || got != "3\n4\n" {
		t.Fatalf("tail = %q, %v", got, err)
	}
}

func TestStalePidIsNotOurs(t *testing.T) {
	dir := t.TempDir()
	p := proc{pidFile: filepath.Join(dir, "x.pid"), marker: "no-such-server-marker"}
	// Our own pid is alive but its command line lacks the marker: a
	// recycled pid must never be taken for a server we started.
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.pid(); ok {
		t.Fatal("a foreign live pid was taken for ours")
	}
	if _, err := p.stop(0); err != errNotRunning {
		t.Fatalf("stop = %v, want errNotRunning", err)
	}
	if _, err := os.Stat(p.pidFile); !os.IsNotExist(err) {
		t.Fatal("stale pid file kept")
	}
}
