package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes the CPU (as go test printed it), cores, memory and OS.
func machine(cpu string) string {
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	mem := ""
	if kb, ok := procField("/proc/meminfo", "MemTotal:"); ok {
		mem = fmt.Sprintf(", %.0f GiB memory", kb/1024/1024)
	}
	return fmt.Sprintf("%s, %d cores%s, %s", cpu, runtime.NumCPU(), mem, osName())
}

func procField(path, field string) (float64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

func goVersion() string {
	return commandOutput("go", "env", "GOVERSION")
}

// commit is the checked-out commit, marked when tracked files other than
// the report's own outputs have changes.
func commit(outputs ...string) string {
	c := commandOutput("git", "rev-parse", "--short", "HEAD")
	if c == "" {
		return "unknown"
	}
	args := []string{"status", "--porcelain", "--untracked-files=no", "--", "."}
	for _, o := range outputs {
		args = append(args, ":!"+o)
	}
	if commandOutput("git", args...) != "" {
		c += " (with uncommitted changes)"
	}
	return c
}

var ollamaVersionRE = regexp.MustCompile(`(?:client version is|ollama version is) v?(\d+\.\d+\.\d+\S*)`)

// ollamaVersion asks the binary the benchmarks ran against, with
// OLLAMA_HOST at a port where nothing listens, so that it reports its own
// version and not that of a server the user runs.
func ollamaVersion(path string) string {
	if path == "" {
		return "not recorded"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST=127.0.0.1:1")
	out, _ := cmd.CombinedOutput()
	if m := ollamaVersionRE.FindSubmatch(out); m != nil {
		return string(m[1]) + " (" + path + ")"
	}
	return "unknown (" + path + " --version said nothing usable)"
}

func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// load is the load average when the report is written, which for the
// 15-minute figure covers most of a bench run: a run that shared the CPU
// with other work says so.
func load() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "unknown"
	}
	l15, _ := strconv.ParseFloat(f[2], 64)
	s := fmt.Sprintf("%s / %s / %s (1, 5, 15 minutes) as the run ended", f[0], f[1], f[2])
	if l15 > float64(runtime.NumCPU())/2 {
		s += fmt.Sprintf(": other work shared the %d cores, so the figures are noisier and slower than on a quiet machine", runtime.NumCPU())
	}
	return s
}
