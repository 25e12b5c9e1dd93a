package desktoptest

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/agent/ollamatest"
	"github.com/cairnlabs/cairn/app/internal/apptest"
)

var ollama *ollamatest.Server

func TestMain(m *testing.M) { os.Exit(ollamatest.Main(m, &ollama)) }

const passphrase = "correct horse battery staple"

// TestWindowStreamsAReply is the desktop app for real: the desktop build
// under Xvfb, its window found by title and driven with xdotool as a
// person would (create the vault, pass the recovery key and model screens,
// send a message to the tiny model), with screenshots a second apart that
// show the reply growing in the window: streaming through Wails' asset
// handler, not only in a browser. Then the window's place is remembered
// across a restart, and a second launch hands over to the first window.
func TestWindowStreamsAReply(t *testing.T) {
	for _, bin := range []string{"Xvfb", "xdotool", "import", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is missing: apt-get install xvfb xdotool imagemagick dbus (`make test` installs APT_TEST_PACKAGES)", bin)
		}
	}
	app := desktopBinary(t)
	shots := artifactsDir(t)
	x := startXvfb(t)
	bus := startBus(t)

	home := filepath.Join(t.TempDir(), "home")
	os.MkdirAll(home, 0o700)
	// No extraction (the tiny model's random JSON is slow), replies long
	// enough to stream for a few seconds, and keyword search (there is no
	// registry to pull an embedding model from, so first run would stop
	// to say so).
	settings, _ := json.Marshal(map[string]any{"extraction": false, "max_reply_tokens": 1500, "embedding_model": "off"})
	os.WriteFile(filepath.Join(home, "settings.json"), settings, 0o600)
	env := append(cleanEnv(), "DISPLAY="+x, "DBUS_SESSION_BUS_ADDRESS="+bus, "OLLAMA_HOST="+ollama.Host,
		"CAIRN_HOME="+home, "NO_AT_BRIDGE=1", "GTK_A11Y=none")

	a := startApp(t, app, env)
	win := findWindow(t, x, a)
	api := a.api(t, home)

	// First run: the page creates the vault.
	waitVault(t, api, "none")
	created := waitPainted(t, x, win, filepath.Join(shots, "0-create.png"))
	xdo(t, x, "windowfocus", "--sync", win)
	waitFocus(t, x, win)
	typeText(t, x, win, passphrase)
	xdo(t, x, "key", "--window", win, "Tab")
	typeText(t, x, win, passphrase)
	xdo(t, x, "key", "--window", win, "Return")
	waitVault(t, api, "unlocked")
	screen := waitSettled(t, x, win, created, filepath.Join(shots, "1-recovery-key.png"))
	// "Download as a file" in the window: the system's save dialog asks
	// where (a browser would download it), and the file lands there. The
	// focus starts on "I have saved my recovery key": back over Print.
	keyFile := filepath.Join(t.TempDir(), "my-recovery-key.txt")
	xdo(t, x, "key", "--window", win, "shift+Tab", "shift+Tab", "Return")
	dialog := waitWindow(t, x, "^Save cairn-recovery-key.txt$")
	xdo(t, x, "windowfocus", "--sync", dialog)
	waitFocus(t, x, dialog)
	waitSettled(t, x, dialog, nil, filepath.Join(shots, "1b-save-dialog.png"))
	xdo(t, x, "key", "ctrl+a")
	xdo(t, x, "type", "--delay", "20", keyFile)
	xdo(t, x, "key", "Return")
	waitFile(t, keyFile, "Cairn recovery key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the saved recovery key file: %v %v, want mode 0600", fi.Mode(), err)
	}
	// Back to the page (the dialog gone, the window focused again):
	// Print, then the tick box.
	waitGone(t, x, dialog)
	xdo(t, x, "windowfocus", "--sync", win)
	waitFocus(t, x, win)
	xdo(t, x, "key", "--window", win, "Tab", "Tab")
	// The recovery key screen: tick "I have saved my recovery key", go on.
	waitSettled(t, x, win, nil, filepath.Join(shots, "1c-ticked.png"))
	xdo(t, x, "key", "--window", win, "space")
	xdo(t, x, "key", "--window", win, "Return")
	// The models screen: a chat model is there; Continue has the focus.
	screen = waitSettled(t, x, win, screen, filepath.Join(shots, "2-models.png"))
	xdo(t, x, "key", "--window", win, "Return")
	waitSettled(t, x, win, screen, filepath.Join(shots, "3-chat.png"))

	// Send a message; the composer has the focus. Screenshots a second
	// apart until the reply is stored (the API says so); those taken while
	// it streamed must show it growing. The tiny model's random weights
	// may end a reply within a second: then it asks again (three tries).
	geo := geometry(t, x, win)
	var before int
	var streaming []int
	for try := 1; ; try++ {
		typeText(t, x, win, "Write a very long essay about stones.")
		before = ink(t, shoot(t, x, filepath.Join(shots, fmt.Sprintf("4-typed-%d.png", try))), geo)
		stored := repliesStored(t, api)
		xdo(t, x, "key", "--window", win, "Return")
		streaming = nil
		for i := 0; ; i++ {
			if i > 240 {
				t.Fatal("no reply stored after 240 screenshots")
			}
			time.Sleep(time.Second)
			n := ink(t, shoot(t, x, filepath.Join(shots, fmt.Sprintf("5-reply-%d-%02d.png", try, i))), geo)
			if repliesStored(t, api) > stored {
				break
			}
			streaming = append(streaming, n)
		}
		if len(streaming) >= 3 || try == 3 {
			break
		}
		t.Logf("try %d: the reply was stored after %d screenshots; asking again for a longer one", try, len(streaming))
	}
	t.Logf("ink (non-background pixels) before sending: %d; while streaming, a second apart: %v", before, streaming)
	grew := 0
	for i := 1; i < len(streaming); i++ {
		if streaming[i] > streaming[i-1] {
			grew++
		}
	}
	if len(streaming) < 3 || grew < 2 || streaming[len(streaming)-1] <= streaming[0] {
		t.Fatalf("the screenshots taken while the reply streamed do not show it growing: ink %v (see %s)", streaming, shots)
	}

	// The window's place is remembered: move it, close, start again.
	xdo(t, x, "windowmove", "--sync", win, "37", "41")
	xdo(t, x, "windowsize", "--sync", win, "900", "640")
	moved := geometry(t, x, win)
	a.stop(t)
	a = startApp(t, app, env)
	win = findWindow(t, x, a)
	api = a.api(t, home)
	waitVault(t, api, "locked")
	waitPainted(t, x, win, filepath.Join(shots, "6-restarted-locked.png"))
	again := geometry(t, x, win)
	if again != moved {
		t.Errorf("the window came back at %+v, it was closed at %+v", again, moved)
	}

	// A second launch hands over to the running window and exits.
	second := exec.Command(app)
	second.Env = env
	out, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already open") {
		t.Errorf("a second launch: %v\n%s", err, out)
	}
	if ids := windows(t, x); len(ids) != 1 {
		t.Errorf("after a second launch there are %d windows titled Cairn, want 1", len(ids))
	}
	a.stop(t)
}

// desktopBinary is $CAIRN_DESKTOP_BIN (make test passes bin/cairn), else a
// desktop build made here; the test skips only when the GUI libraries to
// build one are missing.
func desktopBinary(t *testing.T) string {
	if b := os.Getenv("CAIRN_DESKTOP_BIN"); b != "" {
		return b
	}
	for _, lib := range []string{"gtk+-3.0", "webkit2gtk-4.1"} {
		if err := exec.Command("pkg-config", "--exists", lib).Run(); err != nil {
			t.Skipf("cannot build the desktop app: pkg-config finds no %s (apt-get install libgtk-3-dev libwebkit2gtk-4.1-dev; `make build` does)", lib)
		}
	}
	root, err := ollamatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "frontend/dist/index.html")); err != nil {
		t.Fatal("frontend/dist is not built: run `make frontend` first")
	}
	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.Command("go", "build", "-tags", "desktop,production,webkit2_41,sqlite_fts5", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("desktop build: %v\n%s", err, out)
	}
	return bin
}

// artifactsDir is where the screenshots are kept (gitignored).
func artifactsDir(t *testing.T) string {
	root, err := ollamatest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "bin", "test-artifacts", "desktop")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// startXvfb starts a virtual screen on a free display and returns it (":N").
func startXvfb(t *testing.T) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := r.Read(b)
		line <- strings.TrimSpace(string(b[:n]))
	}()
	select {
	case d := <-line:
		if _, err := strconv.Atoi(d); err != nil {
			t.Fatalf("Xvfb said %q for its display", d)
		}
		return ":" + d
	case <-time.After(30 * time.Second):
		t.Fatal("Xvfb did not start")
	}
	return ""
}

// startBus starts a private D-Bus session bus (for the single-instance
// lock) and returns its address.
func startBus(t *testing.T) string { return apptest.StartBus(t, t.TempDir()) }

type runningApp struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

func startApp(t *testing.T, bin string, env []string) *runningApp {
	a := &runningApp{cmd: exec.Command(bin), log: &lockedBuffer{}, done: make(chan struct{})}
	a.cmd.Env = env
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	return a
}

// stop ends the app as a session's end would (SIGTERM) and waits.
func (a *runningApp) stop(t *testing.T) {
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the app did not stop on SIGTERM: %s", a.log.String())
	}
}

// apiClient reaches the API the app serves on 127.0.0.1 for scripts.
type apiClient struct{ url, token string }

func (a *runningApp) api(t *testing.T, home string) apiClient {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var o struct {
			URL string `json:"url"`
		}
		b, err := os.ReadFile(filepath.Join(home, "owner.json"))
		tok, terr := os.ReadFile(filepath.Join(home, "api-token"))
		if err == nil && terr == nil && json.Unmarshal(b, &o) == nil && o.URL != "" {
			return apiClient{o.URL, strings.TrimSpace(string(tok))}
		}
	}
	t.Fatalf("the app serves no API: %s", a.log.String())
	return apiClient{}
}

func (c apiClient) get(t *testing.T, path string, v any) int {
	req, _ := http.NewRequest("GET", c.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, v)
	return resp.StatusCode
}

func waitVault(t *testing.T, api apiClient, want string) {
	var got struct {
		Vault string `json:"vault"`
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if api.get(t, "/api/v1/app", &got) == http.StatusOK && got.Vault == want {
			return
		}
	}
	t.Fatalf("the vault is %q, want %q", got.Vault, want)
}

// repliesStored counts the assistant messages with content in every
// conversation.
func repliesStored(t *testing.T, api apiClient) int {
	var list struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	api.get(t, "/api/v1/conversations", &list)
	n := 0
	for _, c := range list.Conversations {
		var conv struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		api.get(t, "/api/v1/conversations/"+c.ID, &conv)
		for _, m := range conv.Messages {
			if m.Role == "assistant" && m.Content != "" {
				n++
			}
		}
	}
	return n
}

func xdo(t *testing.T, display string, args ...string) string {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func typeText(t *testing.T, display, win, text string) {
	xdo(t, display, "type", "--window", win, "--delay", "30", text)
}

// windows lists the visible windows titled exactly "Cairn".
func windows(t *testing.T, display string) []string {
	cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^Cairn$")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, _ := cmd.Output()
	return strings.Fields(string(out))
}

// waitWindow waits for a visible window whose title matches the pattern.
func waitWindow(t *testing.T, display, title string) string {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", title)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := cmd.Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			return ids[len(ids)-1]
		}
	}
	t.Fatalf("no window titled %s within 30 s", title)
	return ""
}

// waitFile waits for path to exist holding want.
func waitFile(t *testing.T, path, want string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
			return
		}
	}
	b, err := os.ReadFile(path)
	t.Fatalf("%s does not hold %q within 30 s: %q, %v", path, want, b, err)
}

// findWindow waits for the app's window titled "Cairn".
func findWindow(t *testing.T, display string, a *runningApp) string {
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ids := windows(t, display); len(ids) > 0 {
			return ids[len(ids)-1]
		}
		select {
		case <-a.done:
			t.Fatalf("the app exited: %s", a.log.String())
		default:
		}
	}
	t.Fatalf("no window titled Cairn within 90 s: %s", a.log.String())
	return ""
}

// waitPainted waits until the page has drawn its screen in the window
// and stopped changing (its first field focused), keeping the screenshot
// in path, and returns it.
func waitPainted(t *testing.T, display, win, path string) image.Image {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		g := geometry(t, display, win)
		if ink(t, shoot(t, display, path), g) > 2000 {
			return waitSettled(t, display, win, nil, path)
		}
	}
	t.Fatalf("the window shows nothing after 60 s (see %s)", path)
	return nil
}

// waitSettled waits until the window shows something other than from
// (the screen before a key press; nil: anything) and two screenshots in a
// row agree on it: the page has drawn its new screen and set its focus,
// so keys go where a person would see them go. It keeps the last
// screenshot in path and returns it.
func waitSettled(t *testing.T, display, win string, from image.Image, path string) image.Image {
	g := geometry(t, display, win)
	var last image.Image
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		img := shoot(t, display, path)
		if (from == nil || !sameWindow(img, from, g)) && last != nil && sameWindow(img, last, g) {
			return img
		}
		last = img
	}
	t.Fatalf("the window did not settle on a new screen within 60 s (see %s)", path)
	return nil
}

// sameWindow reports whether two screenshots agree within the window.
func sameWindow(a, b image.Image, g geom) bool {
	for y := g.Y; y < g.Y+g.H; y++ {
		for x := g.X; x < g.X+g.W; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// waitFocus waits until X gives win the keyboard focus.
func waitFocus(t *testing.T, display, win string) {
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = xdo(t, display, "getwindowfocus"); got == win {
			return
		}
	}
	t.Fatalf("window %s does not get the focus within 30 s (%s has it)", win, got)
}

// waitGone waits until window win is no longer shown.
func waitGone(t *testing.T, display, win string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", ".")
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := cmd.Output()
		if !slices.Contains(strings.Fields(string(out)), win) {
			return
		}
	}
	t.Fatalf("window %s is still shown after 30 s", win)
}

type geom struct{ X, Y, W, H int }

func geometry(t *testing.T, display, win string) geom {
	var g geom
	for _, l := range strings.Split(xdo(t, display, "getwindowgeometry", "--shell", win), "\n") {
		k, v, _ := strings.Cut(l, "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "X":
			g.X = n
		case "Y":
			g.Y = n
		case "WIDTH":
			g.W = n
		case "HEIGHT":
			g.H = n
		}
	}
	return g
}

// shoot takes a screenshot of the whole screen into path and returns it.
func shoot(t *testing.T, display, path string) image.Image {
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ink counts the pixels of the window's middle (below the menu and
// header, above the composer) that differ clearly from its background:
// text drawn there makes it grow.
func ink(t *testing.T, img image.Image, g geom) int {
	top, bottom := g.Y+110, g.Y+g.H-130
	bg := img.At(g.X+g.W-6, g.Y+g.H/2)
	br, bgg, bb, _ := bg.RGBA()
	n := 0
	for y := top; y < bottom; y++ {
		for x := g.X; x < g.X+g.W; x++ {
			r, gg, b, _ := img.At(x, y).RGBA()
			if absDiff(r, br)+absDiff(gg, bgg)+absDiff(b, bb) > 3*0x2000 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") && !strings.HasPrefix(kv, "OLLAMA_") && !strings.HasPrefix(kv, "DISPLAY=") &&
			!strings.HasPrefix(kv, "WAYLAND_DISPLAY=") && !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "SSH_") {
			out = append(out, kv)
		}
	}
	return out
}

// lockedBuffer collects a process's output safely across goroutines.
type lockedBuffer = apptest.LockedBuffer
