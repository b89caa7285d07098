package devenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server process started by this package, known by its pid file.
type proc struct {
	pidFile string
	// marker must appear in /proc/<pid>/cmdline, so that a recycled pid
	// belonging to a foreign process is never taken for ours.
	marker string
}

// pid returns the recorded pid if that process is alive and is ours.
func (p proc) pid() (int, bool) {
	b, err := os.ReadFile(p.pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, isOurs(pid, p.marker)
}

func isOurs(pid int, marker string) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name; a zombie is dead.
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(marker))
}

// running is a detached child; exited is closed when it ends while this
// program still runs, which lets a start fail fast instead of timing out.
type running struct {
	pid    int
	exited chan struct{}
}

// start runs cmd in a new session, detached from the terminal, with its
// output appended to logPath, and records its pid.
func (p proc) start(cmd *exec.Cmd, logPath string) (*running, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	r := &running{pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(r.pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-r.pid, syscall.SIGKILL)
		return nil, err
	}
	return r, nil
}

// errNotRunning reports a stop request for a process that is not ours or
// not alive; the stale pid file is removed anyway.
var errNotRunning = errors.New("not running")

// stop sends SIGTERM to the recorded process group, waits up to grace, then
// sends SIGKILL. It removes the pid file.
func (p proc) stop(grace time.Duration) (int, error) {
	pid, ok := p.pid()
	defer os.Remove(p.pidFile)
	if !ok {
		return 0, errNotRunning
	}
	// Setsid made the server a group leader: signal the group so helper
	// children go too.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !isOurs(pid, p.marker) {
			return pid, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for i := 0; i < 50 && isOurs(pid, p.marker); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if isOurs(pid, p.marker) {
		return pid, fmt.Errorf("pid %d survived SIGKILL", pid)
	}
	return pid, nil
}
