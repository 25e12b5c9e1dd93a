//go:build !windows

package desktop

import "os"

// RuntimeMissing says what the window needs and this machine lacks, if it
// can tell before opening one. On Linux the dynamic loader already refuses
// to start a desktop build without GTK and WebKitGTK (doctor names them),
// so there is nothing left to look for here.
func RuntimeMissing() error { return nil }

// NoDisplayReason says why this process cannot open a window ("" when it
// can): no display server, or an SSH session, where a window would open on
// a screen the person may not see (or crawl over X forwarding).
func NoDisplayReason() string {
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

// HasDisplay reports whether a display server is there to open a window on.
func HasDisplay() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }
