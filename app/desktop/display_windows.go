//go:build windows

package desktop

import (
	"errors"
	"fmt"
	"os"

	"github.com/wailsapp/go-webview2/webviewloader"
	"golang.org/x/sys/windows"
)

// WebView2Download is where Microsoft offers the WebView2 runtime (the
// Evergreen bootstrapper), which Windows 11 ships and Windows 10 may lack.
const WebView2Download = "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

// WebView2Version is the installed WebView2 runtime's version, "" when
// there is none.
func WebView2Version() (string, error) {
	return webviewloader.GetAvailableCoreWebView2BrowserVersionString("")
}

// RuntimeMissing says that the window cannot open because the
// WebView2 runtime is not installed, before Wails would offer to download
// it in a dialog (or, where no dialog can show, wait for nobody).
func RuntimeMissing() error {
	v, err := WebView2Version()
	switch {
	case err != nil:
		err = fmt.Errorf("cannot tell whether the Microsoft Edge WebView2 runtime is installed (%v): install it from %s, or run `cairn serve --ui` and use a browser", err, WebView2Download)
	case v == "":
		err = errors.New("the desktop window needs the Microsoft Edge WebView2 runtime, which is not installed: install it from " + WebView2Download + ", or run `cairn serve --ui` and use a browser")
	default:
		return nil
	}
	if !stderrAttached() {
		showError("Cairn", err.Error())
	}
	return err
}

// stderrAttached reports whether anyone may read standard error: a GUI
// program started from Explorer has none, so the message goes in a box.
func stderrAttached() bool {
	h, err := windows.GetStdHandle(windows.STD_ERROR_HANDLE)
	return err == nil && h != 0 && h != windows.InvalidHandle
}

// showError shows text in a message box and waits for OK.
func showError(title, text string) {
	t, _ := windows.UTF16PtrFromString(title)
	m, _ := windows.UTF16PtrFromString(text)
	_, _ = windows.MessageBox(0, m, t, windows.MB_OK|windows.MB_ICONERROR)
}

// NoDisplayReason says why this process cannot open a window ("" when it
// can). A Windows session always has a desktop; over SSH the window would
// open in a session the person does not see.
func NoDisplayReason() string {
	switch {
	case os.Getenv("CAIRN_WINDOW") == "1":
		return ""
	case os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "":
		return "this is an SSH session"
	}
	return ""
}

// HasDisplay: a Windows session has a desktop to open a window on.
func HasDisplay() bool { return true }
