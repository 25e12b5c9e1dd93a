package api

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with the golden file, or rewrites it with
// -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test -run %s -update to write it", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from what the routes say (go test -run %s -update rewrites it; review the diff):\ngot:\n%s", path, t.Name(), got)
	}
}

// TestEveryRouteWithEveryScope sends every route with a token of each
// scope: a token without the route's scope is refused (403 forbidden) and
// nothing else is. /mcp needs memory:read; its writing tools need
// memory:write (TestMCPScopes).
func TestEveryRouteWithEveryScope(t *testing.T) {
	f := newFixture(t)
	s := New(Config{Vault: f.vault, Tokens: f.tokens})
	scopes := map[string]string{"POST /mcp": ScopeMemoryRead}
	for _, rt := range s.table {
		scopes[rt.pattern] = rt.scope
	}
	routes := slices.Sorted(maps.Keys(scopes))
	var golden strings.Builder
	for _, r := range routes {
		if r != "POST /mcp" {
			fmt.Fprintf(&golden, "%s\t%s\n", r, scopes[r])
		}
	}
	// The scopes are reviewed as a whole: a change shows in this file's
	// diff, with README's scope table and docs/SECURITY.md beside it.
	checkGolden(t, "testdata/scopes.golden", golden.String())
	tokens := map[string]string{}
	for _, sc := range AllScopes {
		tok, err := f.tokens.Create("t-"+strings.ReplaceAll(sc, ":", "-"), []string{sc})
		if err != nil {
			t.Fatal(err)
		}
		tokens[sc] = tok
	}
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
			if want := !(Token{Scopes: []string{sc}}).Has(scopes[route]); forbidden != want {
				t.Errorf("%s with a %s token: refused %v, want %v", route, sc, forbidden, want)
			}
		}
	}
}
