package desktop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/cairnlabs/cairn/app/owner"
)

// window is the desktop window over a run's environment.
type window struct{ *owner.Env }

// WindowIcon is the window's icon (PNG), set by main from build/.
var WindowIcon []byte

// errHeadlessBuild is returned by Open in a binary built without the
// desktop window.
var errHeadlessBuild = errors.New("this cairn binary was built without the desktop window " +
	"(rebuild with `make build`, or use `cairn serve --ui` and a browser)")

// Window defaults and limits, in pixels.
const (
	defaultWidth, defaultHeight = 1100, 760
	minWidth, minHeight         = 720, 480
)

// run opens the Cairn window and blocks until it is closed or ctx is
// done. handler, which may be nil, serves every request the built frontend
// (c.Assets) does not answer, so the page reaches the HTTP API in-process:
// the same API that `cairn serve` offers on 127.0.0.1. Streams reach the
// page as they are written (see DESIGN: flush through
// http.NewResponseController, never a type-asserted http.Flusher).
//
// Wails needs the build tags desktop,production,webkit2_41 (see Makefile);
// without them run returns errHeadlessBuild.
func (c *window) run(ctx context.Context, handler http.Handler) error {
	if !Built {
		return errHeadlessBuild
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)

	// GTK and WebKit belong to one thread: the one that tunes WebKit here
	// is the one wails.Run keeps for GTK's main loop.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	tuneWebKitProcess()
	go returnFreeMemory(stop)

	ws := c.loadWindowState()
	start := options.Normal
	if ws.Maximised {
		start = options.Maximised
	}
	// Wails' context, once the window has started (menu items and a
	// second launch may come from other goroutines).
	var started atomic.Pointer[context.Context]
	var placeOnce sync.Once
	wctx := func() context.Context {
		if p := started.Load(); p != nil {
			return *p
		}
		return nil
	}
	return wails.Run(&options.App{
		Title:            "Cairn",
		Width:            ws.Width,
		Height:           ws.Height,
		MinWidth:         minWidth,
		MinHeight:        minHeight,
		WindowStartState: start,
		BackgroundColour: &options.RGBA{R: 250, G: 250, B: 249, A: 255},
		Menu:             c.desktopMenu(wctx, handler),
		// The page saves the files it makes through the system's dialog.
		Bind: []any{newDesktop(wctx)},
		AssetServer: &assetserver.Options{
			Assets:  c.Assets,
			Handler: handler,
		},
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId: c.instanceID(),
			// A second launch hands over to this window and exits.
			OnSecondInstanceLaunch: func(options.SecondInstanceData) {
				if x := wctx(); x != nil {
					runtime.WindowUnminimise(x) // gtk_window_present: raise and focus
					runtime.WindowShow(x)
				}
			},
		},
		Linux: &linux.Options{
			Icon: WindowIcon,
			// Matches the .desktop entry's StartupWMClass (build/linux).
			ProgramName: "cairn",
			// Software rendering: no GPU buffers or compositing memory,
			// and no blank windows on some GPU drivers (wailsapp/wails#2977).
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
		OnStartup: func(x context.Context) {
			started.Store(&x)
			// Close the window when ctx ends (SIGINT, SIGTERM or the caller).
			go func() {
				select {
				case <-ctx.Done():
					runtime.Quit(x)
				case <-stop:
				}
			}()
		},
		OnDomReady: func(x context.Context) {
			tuneWebView()
			// Once: a reload (View > Reload, Lock vault) keeps the place.
			placeOnce.Do(func() {
				if ws.placed && !ws.Maximised {
					runtime.WindowSetPosition(x, ws.X, ws.Y)
				}
			})
		},
		OnBeforeClose: func(x context.Context) bool {
			c.saveWindowState(x)
			return false
		},
	})
}

// instanceID names the single-instance lock: one window per data folder.
func (c *window) instanceID() string {
	sum := sha256.Sum256([]byte(c.HomeDir))
	return "cairn.desktop." + hex.EncodeToString(sum[:6])
}

// desktopMenu is the window's menu bar. wctx returns Wails' context once
// the window has started (menu items cannot be used before).
func (c *window) desktopMenu(wctx func() context.Context, handler http.Handler) *menu.Menu {
	do := func(fn func(ctx context.Context)) menu.Callback {
		return func(*menu.CallbackData) {
			if ctx := wctx(); ctx != nil {
				fn(ctx)
			}
		}
	}
	edit := func(cmd string) menu.Callback { return func(*menu.CallbackData) { editCommand(cmd) } }
	zoom := func(step float64) menu.Callback { return func(*menu.CallbackData) { zoomBy(step) } }

	m := menu.NewMenu()
	file := m.AddSubmenu("File")
	file.AddText("Lock vault", keys.Combo("l", keys.CmdOrCtrlKey, keys.ShiftKey), do(func(ctx context.Context) {
		// Through the API, as the page would: events go out and the page
		// shows the unlock screen after the reload.
		if handler != nil {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/lock", nil))
		}
		runtime.WindowReload(ctx)
	}))
	file.AddText("Open data folder", nil, do(func(ctx context.Context) {
		runtime.BrowserOpenURL(ctx, "file://"+c.HomeDir)
	}))
	file.AddSeparator()
	file.AddText("Quit", keys.CmdOrCtrl("q"), do(runtime.Quit))

	ed := m.AddSubmenu("Edit")
	ed.AddText("Undo", keys.CmdOrCtrl("z"), edit("Undo"))
	ed.AddText("Redo", keys.Combo("z", keys.CmdOrCtrlKey, keys.ShiftKey), edit("Redo"))
	ed.AddSeparator()
	ed.AddText("Cut", keys.CmdOrCtrl("x"), edit("Cut"))
	ed.AddText("Copy", keys.CmdOrCtrl("c"), edit("Copy"))
	ed.AddText("Paste", keys.CmdOrCtrl("v"), edit("Paste"))
	ed.AddText("Select all", keys.CmdOrCtrl("a"), edit("SelectAll"))

	view := m.AddSubmenu("View")
	view.AddText("Reload", keys.CmdOrCtrl("r"), do(runtime.WindowReload))
	view.AddSeparator()
	view.AddText("Zoom in", keys.CmdOrCtrl("="), zoom(0.1))
	view.AddText("Zoom out", keys.CmdOrCtrl("-"), zoom(-0.1))
	view.AddText("Actual size", keys.CmdOrCtrl("0"), zoom(0))
	view.AddSeparator()
	view.AddText("Full screen", keys.Key("F11"), do(func(ctx context.Context) {
		if runtime.WindowIsFullscreen(ctx) {
			runtime.WindowUnfullscreen(ctx)
		} else {
			runtime.WindowFullscreen(ctx)
		}
	}))

	help := m.AddSubmenu("Help")
	help.AddText("About Cairn", nil, do(func(ctx context.Context) {
		runtime.MessageDialog(ctx, runtime.MessageDialogOptions{
			Type:  runtime.InfoDialog,
			Title: "About Cairn",
			Message: "Cairn " + owner.Version() + "\n\nYour memory, on your devices: a local-first personal AI runtime.\n\n" +
				"Data folder: " + c.HomeDir + "\nThe local API for scripts: `cairn serve`, `cairn token`.",
		})
	}))
	return m
}

// windowState is the window's size and place, kept in the data folder
// (window.json) from one run to the next.
type windowState struct {
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Width     int  `json:"width"`
	Height    int  `json:"height"`
	Maximised bool `json:"maximised"`
	// placed says X and Y were read from the file.
	placed bool
}

func (c *window) windowStatePath() string { return filepath.Join(c.HomeDir, "window.json") }

// loadWindowState reads window.json; a missing or damaged file gives the
// default size, centred.
func (c *window) loadWindowState() windowState {
	ws := windowState{Width: defaultWidth, Height: defaultHeight}
	b, err := os.ReadFile(c.windowStatePath())
	if err != nil {
		return ws
	}
	var got windowState
	if json.Unmarshal(b, &got) != nil || got.Width < minWidth || got.Height < minHeight || got.Width > 16384 || got.Height > 16384 {
		return ws
	}
	got.placed = got.X > -16384 && got.X < 16384 && got.Y > -16384 && got.Y < 16384
	return got
}

// saveWindowState writes the window's size and place to window.json. A
// maximised window keeps the size it had before, so it un-maximises there.
func (c *window) saveWindowState(wctx context.Context) {
	ws := c.loadWindowState()
	if runtime.WindowIsMaximised(wctx) {
		ws.Maximised = true
	} else if !runtime.WindowIsFullscreen(wctx) {
		ws.Maximised = false
		ws.Width, ws.Height = runtime.WindowGetSize(wctx)
		ws.X, ws.Y = runtime.WindowGetPosition(wctx)
	}
	b, _ := json.Marshal(ws)
	if err := os.MkdirAll(c.HomeDir, 0o700); err == nil {
		err = os.WriteFile(c.windowStatePath(), b, 0o600)
		if err != nil {
			fmt.Fprintf(c.Stderr, "cairn: could not remember the window's place: %v\n", err)
		}
	}
}

// returnFreeMemory gives the Go heap's spare pages back to the system while
// the window is open. Unlocking stretches the passphrase with Argon2id
// (64 MiB at a time), and Go would keep that much heap for minutes after;
// an idle desktop app should hold only what it uses. A forced collection
// of a small heap costs a few milliseconds, and runs only when the heap
// has grown by 16 MiB since the last one.
func returnFreeMemory(stop <-chan struct{}) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	held := func() uint64 {
		metrics.Read(s)
		return s[0].Value.Uint64() - s[1].Value.Uint64()
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	var after uint64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if held() > after+16<<20 {
				debug.FreeOSMemory()
				after = held()
			}
		}
	}
}

// Open opens the window as the home's owner: it serves the API
// on 127.0.0.1 for scripts, and the same handler in-process to the page
// (no socket, so no token there). With no vault yet the page creates one.
func Open(ctx context.Context, env *owner.Env) error {
	c := &window{env}
	if err := RuntimeMissing(); err != nil {
		return err
	}
	if c.focusRunningWindow() {
		fmt.Fprintln(c.Stderr, "Cairn is already open on "+c.HomeDir+": brought its window to the front.")
		return nil
	}
	// The window asks for the passphrase (or the keyring has the key),
	// not the terminal it may have been started from.
	c.Term.In = nil
	o, err := c.StartOwner(ctx, owner.DefaultAddr, false, true)
	if errors.Is(err, owner.ErrCannotListen) {
		o, err = c.StartOwner(ctx, "127.0.0.1:0", false, true) // the usual port is taken
	}
	if err != nil {
		return err
	}
	defer o.Stop()
	if o.Sess != nil {
		c.UnlockFromKeyring(ctx, o.Sess.Vault)
	}
	return c.run(ctx, o.API.InProcess())
}
