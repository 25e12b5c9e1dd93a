// Command desktopmem measures the desktop app's memory and start time under
// Xvfb, beside an empty Wails app (.ci/emptywails) in the same run.
//
// For each app it starts a fresh process on a virtual screen, times process
// start to the window being mapped and to its first paint (the window shows
// more than its background colour), waits for it to idle, and sums the
// proportional set size (Pss: in /proc/PID/smaps_rollup) of the app and every
// process below it (WebKit's network and web processes): RSS would count the
// GTK and WebKit pages they share several times. Cairn opens a vault of
// -memories memories: the window opens on the unlock
// screen, and the passphrase is typed into it (xdotool) after the first paint.
//
// It prints Go benchmark lines, for .ci/benchreport:
//
//	BenchmarkDesktopIdle/app=empty-wails 1 223.1 PSS-MB 410 mapped-ms 650 painted-ms
//	BenchmarkDesktopIdle/app=cairn/memories=10000 1 190.2 PSS-MB 900 mapped-ms 1400 painted-ms
//
// Usage (after `make build`; root of the repository):
//
//	go run ./.ci/desktopmem -app bin/cairn -memories 10000 -runs 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

const passphrase = "correct horse battery staple"

func main() {
	appBin := flag.String("app", "bin/cairn", "the desktop build of cairn (make build)")
	emptyBin := flag.String("empty", "", "an empty Wails app (default: build .ci/emptywails with the desktop tags)")
	n := flag.Int("memories", 10000, "memories in Cairn's vault")
	runs := flag.Int("runs", 3, "runs of each app; the median is printed")
	idle := flag.Duration("idle", 15*time.Second, "how long to wait after the first paint before reading memory")
	cache := flag.String("vault-cache", "bin/desktopmem", "folder that keeps the seeded vault between runs")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("desktopmem: ")

	if *emptyBin == "" {
		*emptyBin = filepath.Join(os.TempDir(), "cairn-emptywails")
		build := exec.Command("go", "build", "-tags", "desktop,production,webkit2_41", "-o", *emptyBin, "./.ci/emptywails")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			log.Fatalf("build the empty Wails app: %v", err)
		}
	}
	vault, err := seededVault(*cache, *n)
	if err != nil {
		log.Fatal(err)
	}
	display, stopX := startXvfb()
	defer stopX()
	bus, stopBus := startBus()
	defer stopBus()

	measure := func(name, bin, title string, setup func(home string) []string, ready func(display, win, home string) error) {
		var pss, mapped, painted []float64
		for range *runs {
			home, err := os.MkdirTemp("", "desktopmem-")
			if err != nil {
				log.Fatal(err)
			}
			env := append(baseEnv(), "DISPLAY="+display, "DBUS_SESSION_BUS_ADDRESS="+bus, "CAIRN_HOME="+home)
			env = append(env, setup(home)...)
			r, err := runOnce(bin, title, display, env, *idle, func(win string) error { return ready(display, win, home) })
			os.RemoveAll(home)
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			pss = append(pss, r.pssMB)
			mapped = append(mapped, r.mapped.Seconds()*1000)
			painted = append(painted, r.painted.Seconds()*1000)
			log.Printf("%s: %.1f MB PSS (%s), mapped after %v, painted after %v", name, r.pssMB, r.detail, r.mapped.Round(time.Millisecond), r.painted.Round(time.Millisecond))
		}
		fmt.Printf("BenchmarkDesktopIdle/%s \t1\t%.1f PSS-MB\t%.0f mapped-ms\t%.0f painted-ms\n", name, median(pss), median(mapped), median(painted))
	}
	measure("app=empty-wails", *emptyBin, "Empty", func(string) []string { return nil }, func(string, string, string) error { return nil })
	measure(fmt.Sprintf("app=cairn/memories=%d", *n), *appBin, "Cairn", func(home string) []string {
		for _, f := range []string{"vault.db"} {
			if err := copyFile(filepath.Join(vault, f), filepath.Join(home, f)); err != nil {
				log.Fatal(err)
			}
		}
		// No Ollama here: keyword search only, and the window opens unlocked.
		s, _ := json.Marshal(map[string]any{"embedding_model": "off", "extraction": false})
		os.WriteFile(filepath.Join(home, "settings.json"), s, 0o600)
		return []string{"OLLAMA_HOST=127.0.0.1:9"}
	}, unlockInWindow)
}

type result struct {
	pssMB           float64
	detail          string
	mapped, painted time.Duration
}

// runOnce starts bin, waits for its window titled title to be mapped and
// painted, lets it idle, and reads the PSS of its process tree.
func runOnce(bin, title, display string, env []string, idle time.Duration, ready func(win string) error) (result, error) {
	var r result
	cmd := exec.Command(bin)
	cmd.Env = env
	logf, _ := os.CreateTemp("", "desktopmem-log-")
	defer os.Remove(logf.Name())
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	fail := func(what string) (result, error) {
		b, _ := os.ReadFile(logf.Name())
		return r, fmt.Errorf("%s; its log:\n%s", what, b)
	}
	var win string
	for win == "" {
		if time.Since(start) > 2*time.Minute {
			return fail("no window titled " + title + " within 2 minutes")
		}
		out, _ := xcmd(display, "xdotool", "search", "--onlyvisible", "--name", "^"+title+"$").Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			win = f[len(f)-1]
			r.mapped = time.Since(start)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if time.Since(start) > 2*time.Minute {
			return fail("the window stayed blank for 2 minutes")
		}
		if painted(display, win) {
			r.painted = time.Since(start)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ready(win); err != nil {
		return fail(err.Error())
	}
	time.Sleep(idle)
	if cmd.ProcessState != nil {
		return fail("the app exited")
	}
	total, parts := treePSS(cmd.Process.Pid)
	r.pssMB, r.detail = float64(total)/1024, parts
	return r, nil
}

// unlockInWindow types the passphrase into the unlock screen, as a person
// would, and waits until the API says the vault is open (the page then shows
// the chat).
func unlockInWindow(display, win, home string) error {
	time.Sleep(time.Second) // the unlock screen puts the focus on its field
	if out, err := xcmd(display, "xdotool", "windowfocus", "--sync", win).CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool windowfocus: %v: %s", err, out)
	}
	xcmd(display, "xdotool", "type", "--window", win, "--delay", "20", passphrase).Run()
	xcmd(display, "xdotool", "key", "--window", win, "Return").Run()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var o struct {
			URL string `json:"url"`
		}
		b, _ := os.ReadFile(filepath.Join(home, "owner.json"))
		tok, _ := os.ReadFile(filepath.Join(home, "api-token"))
		if json.Unmarshal(b, &o) != nil || o.URL == "" {
			continue
		}
		req, _ := http.NewRequest("GET", o.URL+"/api/v1/app", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var st struct {
			Vault string `json:"vault"`
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Vault == "unlocked" {
			time.Sleep(2 * time.Second) // the chat screen draws
			return nil
		}
	}
	return errors.New("the vault did not open after typing the passphrase into the window")
}

// painted reports whether the window shows more than one colour.
func painted(display, win string) bool {
	out, err := xcmd(display, "import", "-window", win, "png:-").Output()
	if err != nil {
		return false
	}
	img, err := png.Decode(strings.NewReader(string(out)))
	if err != nil {
		return false
	}
	return inked(img) > 500
}

func inked(img image.Image) int {
	b := img.Bounds()
	br, bg, bb, _ := img.At(b.Max.X-3, b.Max.Y-3).RGBA()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if diff(r, br)+diff(g, bg)+diff(bl, bb) > 3*0x2000 {
				n++
			}
		}
	}
	return n
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// treePSS sums Pss (kB) of pid and all its descendants.
func treePSS(pid int) (int, string) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; cut after ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
		}
	}
	total := 0
	var parts []string
	var walk func(int)
	walk = func(p int) {
		kb := pss(p)
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimSpace(string(comm)), float64(kb)/1024))
		total += kb
		for _, c := range children[p] {
			walk(c)
		}
	}
	walk(pid)
	return total, strings.Join(parts, ", ")
}

func pss(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Pss:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

// seededVault returns a folder with a vault of n memories, made once and
// kept in cache.
func seededVault(cache string, n int) (string, error) {
	dir, err := filepath.Abs(filepath.Join(cache, fmt.Sprintf("vault-%d", n)))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	log.Printf("seeding a vault of %d memories in %s (once)", n, dir)
	ctx := context.Background()
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(dir, "vault.db"), Logger: nil}, []byte(passphrase))
	if err != nil {
		return "", err
	}
	words := strings.Fields("stone river garden coffee bicycle violin mountain lantern harbour winter library orchard " +
		"kitchen museum ferry meadow copper ribbon thunder pepper marble canyon saddle pilgrim")
	for i := range n {
		text := fmt.Sprintf("Memory %d: I like the %s near the %s, and my %s is %s.", i,
			words[i%len(words)], words[(i/3)%len(words)], words[(i/7)%len(words)], words[(i/11)%len(words)])
		if _, err := v.Add(ctx, memory.NewItem{Text: text, Tags: []string{words[i%5]}}); err != nil {
			v.Close()
			return "", err
		}
	}
	if err := v.Checkpoint(ctx); err != nil {
		log.Printf("checkpoint: %v", err)
	}
	v.Close()
	return dir, os.WriteFile(filepath.Join(dir, "done"), nil, 0o600)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startXvfb starts a virtual screen on a free display. -noreset keeps it
// from resetting when the last window closes, which made the next app of a
// run fail to open GTK.
func startXvfb() (string, func()) {
	r, w, _ := os.Pipe()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		log.Fatalf("Xvfb: %v (apt-get install xvfb)", err)
	}
	w.Close()
	b := make([]byte, 16)
	k, _ := r.Read(b)
	d := strings.TrimSpace(string(b[:k]))
	if _, err := strconv.Atoi(d); err != nil {
		log.Fatalf("Xvfb said %q for its display", d)
	}
	return ":" + d, func() { cmd.Process.Kill(); cmd.Wait() }
}

// startBus starts a private D-Bus session bus that starts no services on
// demand, so that nothing outside the app's own processes (an
// accessibility bus, another session bus) comes up during the measurement.
func startBus() (string, func()) {
	dir, err := os.MkdirTemp("", "desktopmem-bus-")
	if err != nil {
		log.Fatal(err)
	}
	addr := "unix:path=" + filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>`+addr+`</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`), 0o600)
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork")
	if err := cmd.Start(); err != nil {
		log.Fatalf("dbus-daemon: %v (apt-get install dbus)", err)
	}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
}

// baseEnv is this environment without what would reach another display,
// session bus or Cairn home.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CAIRN_") || strings.HasPrefix(k, "OLLAMA_") || slices.Contains([]string{"DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "SSH_CONNECTION", "SSH_TTY"}, k) {
			continue
		}
		out = append(out, kv)
	}
	// No accessibility bus: it would start daemons outside the app's tree.
	return append(out, "NO_AT_BRIDGE=1")
}

func xcmd(display string, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "DISPLAY="+display)
	return c
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
