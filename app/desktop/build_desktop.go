//go:build desktop

package desktop

// Built reports whether this binary was built with the desktop window
// (build tags desktop,production,webkit2_41: `make build`).
const Built = true
