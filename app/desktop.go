package app

import (
	"context"
	"errors"
	"io/fs"
	"net/http"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// errHeadlessBuild is returned by runDesktop in a binary built without the
// desktop window.
var errHeadlessBuild = errors.New("this cairn binary was built without the desktop window " +
	"(rebuild with `make build`, or use `cairn serve --ui` and a browser)")

// runDesktop opens the Cairn window and blocks until it is closed or ctx is
// done. assets is the built frontend (frontend/dist); handler, which may be
// nil, serves every request the assets do not answer, so the page reaches the
// HTTP API in-process, the same API that `cairn serve` offers on 127.0.0.1.
//
// Wails needs the build tags desktop,production,webkit2_41 (see Makefile);
// without them runDesktop returns errHeadlessBuild.
func runDesktop(ctx context.Context, assets fs.FS, handler http.Handler) error {
	if !desktopBuild {
		return errHeadlessBuild
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := make(chan struct{})
	defer close(stop)

	return wails.Run(&options.App{
		Title:     "Cairn",
		Width:     1100,
		Height:    760,
		MinWidth:  720,
		MinHeight: 480,
		AssetServer: &assetserver.Options{
			Assets:  assets,
			Handler: handler,
		},
		Linux: &linux.Options{
			// Matches the .desktop entry's StartupWMClass (build/linux).
			ProgramName: "cairn",
			// Wails' own default when Linux options are nil: software
			// rendering avoids blank windows on some GPU drivers
			// (wailsapp/wails#2977) and keeps WebKit's memory down.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
		OnStartup: func(wctx context.Context) {
			// Close the window when ctx ends (SIGINT, SIGTERM or the caller).
			go func() {
				select {
				case <-ctx.Done():
					runtime.Quit(wctx)
				case <-stop:
				}
			}()
		},
	})
}
