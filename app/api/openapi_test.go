package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The OpenAPI document and the registered /api/v1 routes are the same set.
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/api/v1/openapi.json", f.admin, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("not an OpenAPI 3.1 document: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var registered []string
	for _, rt := range New(Config{Vault: f.vault, Tokens: f.tokens}).table {
		if _, path, _ := strings.Cut(rt.pattern, " "); strings.HasPrefix(path, "/api/v1/") {
			registered = append(registered, rt.pattern)
			if rt.summary == "" {
				t.Errorf("%s has no summary for the OpenAPI document", rt.pattern)
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(registered)
	if !slices.Equal(documented, registered) {
		t.Fatalf("documented:\n%s\nregistered:\n%s", strings.Join(documented, "\n"), strings.Join(registered, "\n"))
	}
}
