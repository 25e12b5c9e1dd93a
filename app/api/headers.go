package api

import "net/http"

// uiPolicy is the Content-Security-Policy of everything the socket serves.
// The web UI is one bundle from this origin: scripts only from it (no
// inline script, no eval), the API only on it, and no page may frame it.
// Inline styles stay allowed: Svelte sets style attributes, and a style
// cannot run code.
const uiPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secureHeaders sets the headers that keep the UI and the API's answers
// to this origin: not framed (clickjacking), no Referer to anywhere (the
// login link's code must not travel), no content sniffing.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", uiPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}
