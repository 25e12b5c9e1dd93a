//go:build windows

package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/wailsapp/go-webview2/webviewloader"
	"golang.org/x/sys/windows"
)

// webView2Download is where Microsoft offers the WebView2 runtime (the
// Evergreen bootstrapper), which Windows 11 ships and Windows 10 may lack.
const webView2Download = "https://go.microsoft.com/fwlink/p/?LinkId=2124703"

// webView2Version is the installed WebView2 runtime's version, "" when
// there is none.
func webView2Version() (string, error) {
	return webviewloader.GetAvailableCoreWebView2BrowserVersionString("")
}

// desktopRuntimeMissing says that the window cannot open because the
// WebView2 runtime is not installed, before Wails would offer to download
// it in a dialog (or, where no dialog can show, wait for nobody).
func desktopRuntimeMissing() error {
	v, err := webView2Version()
	switch {
	case err != nil:
		err = fmt.Errorf("cannot tell whether the Microsoft Edge WebView2 runtime is installed (%v): install it from %s, or run `cairn serve --ui` and use a browser", err, webView2Download)
	case v == "":
		err = errors.New("the desktop window needs the Microsoft Edge WebView2 runtime, which is not installed: install it from " + webView2Download + ", or run `cairn serve --ui` and use a browser")
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

func checkDesktop() check {
	ch := check{name: "desktop"}
	v, err := webView2Version()
	switch {
	case err != nil:
		ch.status, ch.detail = "warn", fmt.Sprintf("cannot tell whether WebView2 is installed: %v", err)
		ch.fix = "install the Microsoft Edge WebView2 runtime from " + webView2Download
	case v == "" && desktopBuild:
		ch.status, ch.detail = "fail", "the Microsoft Edge WebView2 runtime is not installed: the window cannot open"
		ch.fix = "install it from " + webView2Download + ", or use `cairn serve --ui` and a browser"
	case v == "":
		ch.status, ch.detail = "ok", "this is a headless build; the desktop one would need the WebView2 runtime, not installed here"
	case !desktopBuild:
		ch.status, ch.detail = "ok", "WebView2 "+v+" present; this is a headless build (cairn.exe is the desktop one)"
	default:
		ch.status, ch.detail = "ok", "WebView2 "+v+" present"
	}
	return ch
}

// noDisplayReason says why this process cannot open a window ("" when it
// can). A Windows session always has a desktop; over SSH the window would
// open in a session the person does not see.
func noDisplayReason() string {
	switch {
	case os.Getenv("CAIRN_WINDOW") == "1":
		return ""
	case os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "":
		return "this is an SSH session"
	}
	return ""
}
