package api

import "net/http"

// flusher sends what a stream has written so far. In the desktop window the
// response writer is Wails' asset server's, which is no http.Flusher: its
// writes reach the page as they are made. http.ResponseController finds a
// Flush wherever there is one (unwrapping middleware writers) and says
// ErrNotSupported where there is none, which is fine. Never type-assert
// http.Flusher: streams would then fail in the window while passing in a
// browser (see DESIGN.md and app/desktoptest).
type flusher struct{ rc *http.ResponseController }

func streamFlusher(w http.ResponseWriter) flusher { return flusher{http.NewResponseController(w)} }

func (f flusher) Flush() { _ = f.rc.Flush() }
