package ollamatest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a server has to exit on SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// process is a child started in a process group of its own, so that stopping
// it also stops what it started (ollama's model runners). A watchdog shell
// kills that group, and removes the temporary directory, if the test process
// dies without stopping it (a panic in a test, a -timeout, a SIGKILL): it waits
// for EOF on a pipe whose only write end is held by the test process, which the
// kernel closes however the process exits.
type process struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed once cmd.Wait returns
	waitErr  error         // cmd.Wait's result, read after done
	watchdog *exec.Cmd
	lifeline *os.File // write end of the watchdog's stdin
}

// startProcess runs bin with args and env (the whole environment), output
// appended to logPath; tempDir is what the watchdog removes.
func startProcess(bin string, args, env []string, logPath, tempDir string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy

	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := p.startWatchdog(tempDir); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// watchdogScript runs as sh -c SCRIPT NAME PGID DIR.
const watchdogScript = `read -r _; kill -KILL -"$1" 2>/dev/null; sleep 1; rm -rf -- "$2"`

func (p *process) startWatchdog(tempDir string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("watchdog pipe: %w", err)
	}
	defer r.Close()
	pgid := strconv.Itoa(p.cmd.Process.Pid)
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "ollamatest-watchdog", pgid, tempDir)
	wd.Stdin = r
	// Its own group, so that a Ctrl-C aimed at the test does not kill it first.
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start watchdog: %w", err)
	}
	p.watchdog, p.lifeline = wd, w
	return nil
}

// pid is the child's process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop ends the child's process group: SIGTERM, then SIGKILL after
// stopGrace, then SIGKILL again for anything of the group left behind. It
// waits for the child, and for the group to be gone for a few seconds.
func (p *process) stop() {
	if p.watchdog != nil {
		// Killed outright, so it never signals a group that may be reused.
		_ = p.watchdog.Process.Kill()
		_ = p.watchdog.Wait()
		p.lifeline.Close()
		p.watchdog = nil
	}
	pgid := p.pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); groupAlive(pgid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAlive reports whether any process is left in group pgid.
func groupAlive(pgid int) bool {
	return !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the test's environment without the variables listed by prefix
// or name in drop, plus set.
func childEnv(drop []string, set ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		for _, d := range drop {
			if name == d || (strings.HasSuffix(d, "*") && strings.HasPrefix(name, strings.TrimSuffix(d, "*"))) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return append(env, set...)
}

// logTail returns the end of a log file, for error messages.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(b, 4000)
}
