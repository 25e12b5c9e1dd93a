package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scopeTable is the scope each route needs: README's and SECURITY.md's
// table. A route added without an entry here fails the test below.
var scopeTable = map[string]string{
	"DELETE /api/v1/conversations/{id}":     ScopeConversationsWrite,
	"DELETE /api/v1/gym/gyms/{id}":          ScopeAdmin,
	"DELETE /api/v1/keyring":                ScopeAdmin,
	"DELETE /api/v1/memories/{id}":          ScopeMemoryWrite,
	"DELETE /api/v1/sync/devices/{peer}":    ScopeAdmin,
	"GET /api/v1/app":                       ScopeMemoryRead,
	"GET /api/v1/conversations":             ScopeChat,
	"GET /api/v1/conversations/{id}":        ScopeChat,
	"GET /api/v1/events":                    ScopeMemoryRead,
	"GET /api/v1/gym/dataset":               ScopeAdmin,
	"GET /api/v1/feedback":                  ScopeChat,
	"GET /api/v1/gym/gyms":                  ScopeAdmin,
	"GET /api/v1/gym/gyms/{id}/receipts":    ScopeAdmin,
	"GET /api/v1/gym/gyms/{id}/review":      ScopeAdmin,
	"GET /api/v1/gym/outbox":                ScopeAdmin,
	"GET /api/v1/keyring":                   ScopeAdmin,
	"GET /api/v1/memories":                  ScopeMemoryRead,
	"GET /api/v1/memories/{id}":             ScopeMemoryRead,
	"GET /api/v1/memories/{id}/revisions":   ScopeMemoryRead,
	"GET /api/v1/messages/search":           ScopeChat,
	"GET /api/v1/messages/{id}":             ScopeChat,
	"GET /api/v1/messages/{id}/feedback":    ScopeChat,
	"GET /api/v1/messages/{id}/recalled":    ScopeChat,
	"GET /api/v1/models":                    ScopeChat,
	"GET /api/v1/models/running":            ScopeChat,
	"GET /api/v1/openapi.json":              ScopeMemoryRead,
	"GET /api/v1/settings":                  ScopeChat,
	"GET /api/v1/status":                    ScopeMemoryRead,
	"GET /api/v1/sync":                      ScopeAdmin,
	"GET /api/v1/sync/devices":              ScopeAdmin,
	"GET /api/v1/sync/events":               ScopeAdmin,
	"GET /api/v1/token":                     ScopeAdmin,
	"GET /v1/models":                        ScopeChat,
	"PATCH /api/v1/conversations/{id}":      ScopeConversationsWrite,
	"PATCH /api/v1/memories/{id}":           ScopeMemoryWrite,
	"PATCH /api/v1/settings":                ScopeAdmin,
	"POST /api/v1/chat":                     ScopeChat,
	"POST /api/v1/export":                   ScopeAdmin,
	"POST /api/v1/gym/gyms":                 ScopeAdmin,
	"POST /api/v1/gym/gyms/{id}/approve":    ScopeAdmin,
	"POST /api/v1/gym/gyms/{id}/revoke":     ScopeAdmin,
	"POST /api/v1/gym/outbox/send":          ScopeAdmin,
	"POST /api/v1/import":                   ScopeAdmin,
	"POST /api/v1/lock":                     ScopeAdmin,
	"POST /api/v1/memories":                 ScopeMemoryWrite,
	"POST /api/v1/messages/{id}/feedback":   ScopeChat,
	"POST /api/v1/messages/{id}/regenerate": ScopeChat,
	"POST /api/v1/models/pull":              ScopeAdmin,
	"POST /api/v1/sync/enable":              ScopeAdmin,
	"POST /api/v1/sync/join":                ScopeAdmin,
	"POST /api/v1/sync/pair":                ScopeAdmin,
	"POST /api/v1/token/rotate":             ScopeAdmin,
	"POST /api/v1/unlock":                   ScopeAdmin,
	"POST /api/v1/recover":                  ScopeAdmin,
	"POST /api/v1/vault":                    ScopeAdmin,
	"POST /v1/chat/completions":             ScopeChat,
	"POST /v1/embeddings":                   ScopeChat,
	"PUT /api/v1/keyring":                   ScopeAdmin,

	// Extraction jobs (routes_extractions.go).
	"POST /api/v1/extractions":        ScopeMemoryLearn,
	"GET /api/v1/extractions":         ScopeMemoryLearn,
	"GET /api/v1/extractions/{id}":    ScopeMemoryLearn,
	"DELETE /api/v1/extractions/{id}": ScopeMemoryLearn,

	// The Tasks view's routes.
	"GET /api/v1/gym/gyms/{id}/tasks":         ScopeAdmin,
	"POST /api/v1/gym/gyms/{id}/tasks":        ScopeAdmin,
	"POST /api/v1/gym/gyms/{id}/tasks/review": ScopeAdmin,
	"POST /api/v1/gym/gyms/{id}/tasks/submit": ScopeAdmin,
}

// TestEveryRouteWithEveryScope sends every route with a token of each
// scope: a token without the route's scope is refused (403 forbidden) and
// nothing else is. /mcp needs memory:read; its writing tools need
// memory:write (TestMCPScopes).
func TestEveryRouteWithEveryScope(t *testing.T) {
	f := newFixture(t)
	s := New(Config{Vault: f.vault, Tokens: f.tokens})
	for route, scope := range s.routeScope {
		if want, ok := scopeTable[route]; !ok || want != scope {
			t.Errorf("%s needs %q; the scope table says %q: update scopeTable, README and docs/SECURITY.md together", route, scope, want)
		}
	}
	for route := range scopeTable {
		if _, ok := s.routeScope[route]; !ok {
			t.Errorf("%s is in the scope table but not served", route)
		}
	}
	tokens := map[string]string{}
	for _, sc := range AllScopes {
		tok, err := f.tokens.Create("t-"+strings.ReplaceAll(sc, ":", "-"), []string{sc})
		if err != nil {
			t.Fatal(err)
		}
		tokens[sc] = tok
	}
	routes := make([]string, 0, len(scopeTable)+1)
	for r := range scopeTable {
		routes = append(routes, r)
	}
	scopeOf := func(r string) string {
		if r == "POST /mcp" {
			return ScopeMemoryRead
		}
		return scopeTable[r]
	}
	routes = append(routes, "POST /mcp")
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{id}", "x", "{peer}", "x").Replace(path)
		for _, sc := range AllScopes {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			req, _ := http.NewRequestWithContext(ctx, method, f.srv.URL+path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+tokens[sc])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			forbidden := false
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				forbidden = resp.StatusCode == http.StatusForbidden && strings.Contains(string(b), `"forbidden"`)
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s with %s: %v", route, sc, err)
			}
			cancel()
			if want := !(Token{Scopes: []string{sc}}).Has(scopeOf(route)); forbidden != want {
				t.Errorf("%s with a %s token: refused %v, want %v", route, sc, forbidden, want)
			}
		}
	}
}
