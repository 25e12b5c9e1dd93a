// Package app wires Cairn together: the command line (cobra), the owner
// process that holds a home's vault and serves the local HTTP API
// (app/api) on loopback, and the desktop window (Wails), which serves the
// same API in-process. CLI commands reach the API through app/client,
// through a running owner or in-process on the vault. Nothing imports app.
package app
