// Command cairn is a local-first personal agent runtime with portable memory:
// a desktop window, a headless HTTP server and a command line in one binary.
package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairnlabs/cairn/app/cli"
	"github.com/cairnlabs/cairn/app/desktop"
)

// assets holds the built frontend; `make frontend` (npm run build) creates
// frontend/dist, which must exist before go build, go vet or go test.
//
//go:embed all:frontend/dist
var assets embed.FS

// windowIcon is the app icon (build/appicon.png) at the size a window
// shows; the full 1024 px one is for packaging.
//
//go:embed build/windowicon.png
var windowIcon []byte

func main() {
	dist, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(1)
	}
	desktop.WindowIcon = windowIcon
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], dist)
	stop()
	os.Exit(code)
}
