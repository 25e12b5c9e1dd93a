//go:build !windows

package cli

import (
	"path/filepath"
	"strings"

	"github.com/cairnlabs/cairn/app/desktop"
)

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
		if desktop.Built {
			ch.status = "fail"
		}
		ch.detail = "missing " + strings.Join(missing, ", ") + " (the desktop window needs them)"
		ch.fix = "sudo apt-get install libgtk-3-0 libwebkit2gtk-4.1-0 (Debian 12, Ubuntu 24.04); `make run` installs them"
	case !desktop.Built:
		ch.status, ch.detail = "ok", "GUI libraries present; this is a headless build (`make build` makes the desktop one)"
	case !desktop.HasDisplay():
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
