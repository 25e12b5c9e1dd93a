//go:build !windows

package app

import (
	"os"
	"path/filepath"
	"strings"
)

// desktopRuntimeMissing says what the window needs and this machine lacks,
// if it can tell before opening one. On Linux the dynamic loader already
// refuses to start a desktop build without GTK and WebKitGTK (doctor names
// them), so there is nothing left to look for here.
func desktopRuntimeMissing() error { return nil }

// guiLibraries are the shared libraries the desktop window loads.
var guiLibraries = []string{"libgtk-3.so.0", "libwebkit2gtk-4.1.so.0"}

func checkDesktop() check {
	ch := check{name: "desktop"}
	var missing []string
	for _, lib := range guiLibraries {
		if !haveLibrary(lib) {
			missing = append(missing, lib)
		}
	}
	switch {
	case len(missing) > 0:
		ch.status = "warn"
		if desktopBuild {
			ch.status = "fail"
		}
		ch.detail = "missing " + strings.Join(missing, ", ") + " (the desktop window needs them)"
		ch.fix = "sudo apt-get install libgtk-3-0 libwebkit2gtk-4.1-0 (Debian 12, Ubuntu 24.04); `make run` installs them"
	case !desktopBuild:
		ch.status, ch.detail = "ok", "GUI libraries present; this is a headless build (`make build` makes the desktop one)"
	case !hasDisplay():
		ch.status, ch.detail = "warn", "no display (DISPLAY and WAYLAND_DISPLAY unset): the window cannot open here"
		ch.fix = "run cairn in a desktop session"
	default:
		ch.status, ch.detail = "ok", "GUI libraries present and a display is available"
	}
	return ch
}

func haveLibrary(name string) bool {
	for _, dir := range []string{"/usr/lib/*-linux-gnu", "/lib/*-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"} {
		if m, _ := filepath.Glob(filepath.Join(dir, name)); len(m) > 0 {
			return true
		}
	}
	return false
}

// noDisplayReason says why this process cannot open a window ("" when it
// can): no display server, or an SSH session, where a window would open on
// a screen the person may not see (or crawl over X forwarding).
func noDisplayReason() string {
	switch {
	case os.Getenv("CAIRN_WINDOW") == "1":
		return ""
	case os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "":
		return "this is an SSH session"
	case os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "":
		return "there is no display (no DISPLAY or WAYLAND_DISPLAY)"
	}
	return ""
}

func hasDisplay() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }
