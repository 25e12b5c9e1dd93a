// Package apitype is the wire shape of Cairn's local HTTP API: the request
// and response bodies that the server (app/api) writes and the Go client
// (app/client) reads, declared once so the two cannot drift apart.
package apitype
