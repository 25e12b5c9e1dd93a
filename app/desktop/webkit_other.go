//go:build !(desktop && linux)

package desktop

// Without the desktop window (or off Linux) there is no WebKitGTK to tune.

func tuneWebKitProcess()     {}
func tuneWebView()           {}
func editCommand(cmd string) {}
func zoomBy(step float64)    {}
