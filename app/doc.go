// Package app wires Cairn together: the command line (cobra), the desktop
// window (Wails) and, as later issues land, the local HTTP API that both
// the window and scripts talk to. Nothing imports app.
package app
