// Package desktoptest tests the desktop build in a real window: Xvfb, the
// window found by its title, driven with xdotool, screenshots compared.
// It has only tests; `make test-desktop` runs them against bin/cairn.
package desktoptest
