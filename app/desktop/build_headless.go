//go:build !desktop

package desktop

// Built reports whether this binary was built with the desktop window.
// Headless builds (`make build-headless`, plain go build/go test) link no GTK
// or WebKit; the UI is then reached through `cairn serve --ui` in a browser.
const Built = false
