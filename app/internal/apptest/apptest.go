// Package apptest holds what the app's tests share: a buffer that a child
// process writes while the test reads, a process that stops with the test,
// and a private D-Bus session bus. Only tests import it.
package apptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LockedBuffer collects a process's output safely across goroutines.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts cmd and stops it when the test ends: SIGTERM, then a kill
// if it has not exited within 15 seconds. done is closed when it exits;
// stop stops it sooner (once; the cleanup then does nothing).
func Start(t testing.TB, cmd *exec.Cmd) (done <-chan struct{}, stop func()) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
	}
	t.Cleanup(stop)
	return exited, stop
}

// StartBus starts a private D-Bus session bus listening in dir, which
// starts no services on demand, and returns its address once it answers.
// It stops when the test ends.
func StartBus(t testing.TB, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "bus")
	addr := "unix:path=" + sock
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>`+addr+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	done, _ := Start(t, exec.Command("dbus-daemon", "--config-file="+conf, "--nofork"))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(sock); err == nil {
			return addr
		}
		select {
		case <-done:
			t.Fatal("dbus-daemon exited before it listened")
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("dbus-daemon did not start")
	return ""
}
