//go:build windows

package cli

import (
	"fmt"

	"github.com/cairnlabs/cairn/app/desktop"
)

// checkDesktop: the window needs the WebView2 runtime on Windows.
func checkDesktop() check {
	ch := check{name: "desktop"}
	v, err := desktop.WebView2Version()
	switch {
	case err != nil:
		ch.status, ch.detail = "warn", fmt.Sprintf("cannot tell whether WebView2 is installed: %v", err)
		ch.fix = "install the Microsoft Edge WebView2 runtime from " + desktop.WebView2Download
	case v == "" && desktop.Built:
		ch.status, ch.detail = "fail", "the Microsoft Edge WebView2 runtime is not installed: the window cannot open"
		ch.fix = "install it from " + desktop.WebView2Download + ", or use `cairn serve --ui` and a browser"
	case v == "":
		ch.status, ch.detail = "ok", "this is a headless build; the desktop one would need the WebView2 runtime, not installed here"
	case !desktop.Built:
		ch.status, ch.detail = "ok", "WebView2 "+v+" present; this is a headless build (cairn.exe is the desktop one)"
	default:
		ch.status, ch.detail = "ok", "WebView2 "+v+" present"
	}
	return ch
}
