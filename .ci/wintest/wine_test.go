package wintest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runTimeout bounds one command. A command that takes longer fails the
// test: a hang is a bug here (the desktop exe waiting for a dialog nobody
// sees, say), not something to wait out.
const runTimeout = 3 * time.Minute

const passphrase = "correct-horse-battery"

// binaries are the programs under test, from the environment make
// test-windows sets.
type binaries struct {
	wine, headlessExe, desktopExe, linux string
}

func need(t *testing.T) binaries {
	t.Helper()
	b := binaries{
		wine:        os.Getenv("CAIRN_WINE"),
		headlessExe: os.Getenv("CAIRN_WINDOWS_HEADLESS"),
		desktopExe:  os.Getenv("CAIRN_WINDOWS_DESKTOP"),
		linux:       os.Getenv("CAIRN_LINUX_BIN"),
	}
	if b.wine == "" || b.headlessExe == "" || b.desktopExe == "" || b.linux == "" || os.Getenv("WINEPREFIX") == "" {
		t.Fatal("run through `make test-windows`: it sets CAIRN_WINE, CAIRN_WINDOWS_HEADLESS, CAIRN_WINDOWS_DESKTOP, CAIRN_LINUX_BIN and WINEPREFIX")
	}
	return b
}

// winPath is a Linux path as a Windows program under Wine sees it: on
// drive Z:, with backslashes, so every path the Windows build is given has
// a drive letter and backslashes.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

type result struct {
	code           int
	stdout, stderr string
}

// env is the environment of every run: the test passphrases, and an Ollama
// address where nothing answers (these checks need no model).
func env(extra ...string) []string {
	return append(append(os.Environ(), "CAIRN_PASSPHRASE="+passphrase,
		"CAIRN_BUNDLE_PASSPHRASE=bundle-passphrase-1", "OLLAMA_HOST=127.0.0.1:1", "WINEDEBUG=-all"), extra...)
}

func run(t *testing.T, name string, args []string, extraEnv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env(extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not end within %s (stderr %q)", name, strings.Join(args, " "), runTimeout, errb.String())
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// win runs cairn-headless.exe under Wine on the home at dir (a Linux path).
func (b binaries) win(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, b.wine, append([]string{b.headlessExe, "--home", winPath(dir)}, args...))
}

// lin runs the Linux build on the home at dir.
func (b binaries) lin(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, b.linux, append([]string{"--home", dir}, args...))
}

func ok(t *testing.T, what string, r result) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout %s\nstderr %s", what, r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// copyDir copies a home folder as a person would move it to another
// machine (files only; a home has no links).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
