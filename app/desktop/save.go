package desktop

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// Desktop is bound into the window's page (window.go.<package>.Desktop):
// what the page needs of the window that a browser gives it itself. A
// browser offers a download bar for a file the page made (an export, a
// dataset, the recovery key); the window has none, so the page hands the
// file to SaveFile (frontend/src/lib/save.ts) and the system's save dialog
// asks where it goes.
type Desktop struct {
	// ask shows the save dialog with name as the suggested file name and
	// returns the path chosen, "" if the person cancelled.
	ask func(ctx context.Context, name string) (string, error)
	// ctx is Wails' context, once the window has started.
	ctx func() context.Context
}

// newDesktop binds the window's save dialog.
func newDesktop(wctx func() context.Context) *Desktop {
	return &Desktop{ctx: wctx, ask: func(ctx context.Context, name string) (string, error) {
		return runtime.SaveFileDialog(ctx, runtime.SaveDialogOptions{
			Title:                "Save " + name,
			DefaultFilename:      name,
			CanCreateDirectories: true,
		})
	}}
}

// SaveFile asks where to save a file named name and writes data there
// (readable by this user only: an export holds the person's memories). It
// returns the path written, or "" when the person cancelled. Wails passes
// data from the page as base64, which encoding/json decodes into bytes.
func (d *Desktop) SaveFile(name string, data []byte) (string, error) {
	ctx := context.Background()
	if d.ctx != nil {
		if ctx = d.ctx(); ctx == nil {
			return "", errors.New("the window is still starting: try again in a moment")
		}
	}
	// Only a name is suggested; where it goes is the person's choice.
	name = filepath.Base(strings.TrimSpace(name))
	if name == "." || name == string(filepath.Separator) || name == "" {
		name = "cairn-file"
	}
	path, err := d.ask(ctx, name)
	if err != nil {
		return "", fmt.Errorf("the save dialog failed: %w", err)
	}
	if path == "" {
		return "", nil
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return "", fmt.Errorf("save %s: %w (pick a folder you can write to)", path, err)
	}
	return path, nil
}
