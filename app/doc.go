// Package app holds Cairn's outer layer, cut by job: app/cli (the cobra
// command line, which main runs), app/owner (a home's folder, settings and
// session, and the owner process that holds its vault and serves the local
// HTTP API on loopback), app/desktop (the Wails window, which serves the
// same API in-process), app/api (the API), app/apitype and app/client (its
// wire types and typed client). CLI commands reach the API through
// app/client, through a running owner or in-process on the vault. This
// package itself has no code; nothing imports it.
package app
