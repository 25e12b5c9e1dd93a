package ollamatest

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Versions of the tools the tests run, built from the Go module proxy. The
// Makefile's test-tools target pins the same ones.
const (
	OllamaVersion   = "v0.11.4"
	RegistryVersion = "v3.1.2"
)

// Environment variables that name the binaries or the model file outright.
const (
	EnvOllama   = "CAIRN_TEST_OLLAMA"
	EnvRegistry = "CAIRN_TEST_REGISTRY"
	EnvGGUF     = "CAIRN_TEST_MODEL_GGUF"
)

// ToolsDir is where `make test-tools` puts the binaries, relative to the
// repository root.
const ToolsDir = "bin/test-tools"

const module = "github.com/cairnlabs/cairn"

// tool describes one binary the tests need and how to get it.
type tool struct {
	name    string // file name in ToolsDir, and on PATH
	env     string // variable that names the binary outright
	module  string // its module path, as debug/buildinfo reports it
	pkg     string // what go install builds
	version string // the pinned module version
	ldflags string // for go install
	// minCLI is the oldest version accepted from a binary found on PATH or in
	// GOPATH/bin (empty: only the pinned version).
	minCLI string
}

var (
	ollamaTool = tool{
		name:   "ollama",
		env:    EnvOllama,
		module: "github.com/ollama/ollama",
		pkg:    "github.com/ollama/ollama",
		// go install leaves version.Version at "0.0.0"; /api/version should
		// say what it is.
		version: OllamaVersion,
		ldflags: "-X=github.com/ollama/ollama/version.Version=" + strings.TrimPrefix(OllamaVersion, "v"),
		minCLI:  "0.11.0",
	}
	registryTool = tool{
		name:    "registry",
		env:     EnvRegistry,
		module:  "github.com/distribution/distribution/v3",
		pkg:     "github.com/distribution/distribution/v3/cmd/registry",
		version: RegistryVersion,
	}
)

// Binary returns the ollama binary the tests run: $CAIRN_TEST_OLLAMA if set;
// else bin/test-tools/ollama at the repository root if it is OllamaVersion as
// `make test-tools` builds it; else $GOBIN/ollama, $GOPATH/bin/ollama or
// ollama on PATH if its --version says 0.11 or newer; else it builds OllamaVersion into bin/test-tools, which takes
// minutes (`make test-tools` does it ahead of time).
func Binary() (string, error) { return ollamaTool.find() }

// RegistryBinary returns the distribution registry binary for pull tests, by
// the same rules as Binary: $CAIRN_TEST_REGISTRY, bin/test-tools/registry,
// $GOBIN or $GOPATH/bin, PATH (each only at RegistryVersion), else a build.
func RegistryBinary() (string, error) { return registryTool.find() }

func (t tool) find() (string, error) {
	if p := os.Getenv(t.env); p != "" {
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", t.env, p, err)
		}
		return p, nil
	}
	root, rootErr := RepoRoot()
	var cached string
	if rootErr == nil {
		cached = filepath.Join(root, ToolsDir, t.name)
		if t.pinned(cached) {
			return cached, nil
		}
	}
	for _, p := range t.candidates() {
		if p != cached && t.acceptable(p) {
			return p, nil
		}
	}
	if rootErr != nil {
		return "", fmt.Errorf("no %s %s found and nowhere to build it: %w; set %s", t.name, t.version, rootErr, t.env)
	}
	return t.build(filepath.Dir(cached))
}

// candidates lists, in order, the other places a binary may already be.
func (t tool) candidates() []string {
	var out []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		out = append(out, filepath.Join(gobin, t.name))
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		out = append(out, filepath.Join(gp, "bin", t.name))
	}
	if p, err := exec.LookPath(t.name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			out = append(out, abs)
		}
	}
	return out
}

// pinned reports whether path is this tool built at exactly the pinned version.
func (t tool) pinned(path string) bool {
	if isExecutable(path) != nil {
		return false
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil || info.Main.Path != t.module || info.Main.Version != t.version {
		return false
	}
	if t.ldflags == "" {
		return true
	}
	for _, s := range info.Settings {
		if s.Key == "-ldflags" {
			return s.Value == t.ldflags
		}
	}
	return false
}

// acceptable reports whether a binary found outside ToolsDir will do: for
// ollama, any that says it is minCLI or newer (a plain go install says
// 0.0.0, and so would its server); for the registry, only the pinned build.
func (t tool) acceptable(path string) bool {
	if t.minCLI == "" {
		return t.pinned(path)
	}
	if isExecutable(path) != nil {
		return false
	}
	v, err := ollamaCLIVersion(path)
	return err == nil && versionAtLeast(v, t.minCLI)
}

// build runs go install into dir, one build at a time across processes
// (go test runs packages in parallel, and each may want the binary).
func (t tool) build(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", t.name, err)
	}
	unlock, err := lockFile(filepath.Join(dir, "."+t.name+".lock"))
	if err != nil {
		return "", fmt.Errorf("build %s: %w", t.name, err)
	}
	defer unlock()
	target := filepath.Join(dir, t.name)
	if t.pinned(target) { // another process built it while we waited
		return target, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no %s binary, and no go command to build it: run `make test-tools`, or set %s", t.name, t.env)
	}
	args := []string{"install"}
	if t.ldflags != "" {
		args = append(args, "-ldflags="+t.ldflags)
	}
	args = append(args, t.pkg+"@"+t.version)
	fmt.Fprintf(os.Stderr, "ollamatest: building %s %s into %s (takes minutes; `make test-tools` does it ahead of time)\n",
		t.name, t.version, dir)
	start := time.Now()
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s %s (go %s): %w\n%s\nrun `make test-tools` (it installs the C++ headers the build needs), or set %s",
			t.name, t.version, strings.Join(args, " "), err, tail(out, 3000), t.env)
	}
	if !t.pinned(target) {
		return "", fmt.Errorf("build %s %s: go install made no %s; run `make test-tools`, or set %s", t.name, t.version, target, t.env)
	}
	fmt.Fprintf(os.Stderr, "ollamatest: built %s in %s\n", target, time.Since(start).Round(time.Second))
	return target, nil
}

var cliVersion = regexp.MustCompile(`(?:client version is|ollama version is) v?(\d+\.\d+\.\d+)`)

// ollamaCLIVersion asks the binary itself. It points OLLAMA_HOST at a port
// where nothing listens, so that it reports its own version, not that of a
// server the user runs.
func ollamaCLIVersion(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST=127.0.0.1:1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	m := cliVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", path, out)
	}
	return string(m[1]), nil
}

// versionAtLeast compares dotted numeric versions ("0.11.4" >= "0.11.0").
func versionAtLeast(have, want string) bool {
	h, w := versionParts(have), versionParts(want)
	for i := range w {
		if h[i] != w[i] {
			return h[i] > w[i]
		}
	}
	return true
}

func versionParts(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	v, _, _ = strings.Cut(v, "-")
	for i, s := range strings.SplitN(v, ".", 3) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return [3]int{}
		}
		out[i] = n
	}
	return out
}

func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// RepoRoot returns the root of this module's checkout: the nearest directory
// above the working directory (a test's package directory), or else above this
// source file, whose go.mod declares the cairn module.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("no go.mod of " + module + " above the working directory")
}

func isModuleRoot(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == module
		}
	}
	return false
}

// TinyGGUF returns the path of the tiny test model:
// $CAIRN_TEST_MODEL_GGUF, else ../shared/testdata/models/llama-2-tiny-random.gguf
// beside the repository root.
func TinyGGUF() (string, error) {
	if p := os.Getenv(EnvGGUF); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", EnvGGUF, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("find the tiny model: %w; set %s", err, EnvGGUF)
	}
	p := filepath.Join(filepath.Dir(root), "shared", "testdata", "models", "llama-2-tiny-random.gguf")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find the tiny model: %w; check out ../shared beside the repository, or set %s", err, EnvGGUF)
	}
	return p, nil
}

// lockFile takes an exclusive flock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// tail returns the last n bytes of b, starting at a line.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}
