package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cairnlabs/cairn"

// deps lists the project packages that pkg imports, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-tags", "sqlite_fts5", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, module+"/") && p != pkg {
			own = append(own, p)
		}
	}
	return own
}

// Dependencies point down: app -> agent, sync, gym -> memory. memory imports
// no other package of the project (its memtest doubles aside, which only
// tests import). Inside app: cli -> desktop -> owner -> api; the API knows
// nothing of the command line, the window or the owner process, and only
// main imports the command line.
func TestDependencyDirection(t *testing.T) {
	for _, d := range deps(t, module+"/memory") {
		t.Errorf("memory imports %s: memory must import no other package of the project", d)
	}
	out, err := exec.Command("go", "list", "-tags", "sqlite_fts5", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	// Who may import each app package (besides its own tests).
	allowed := map[string][]string{
		module + "/app/cli":     {module},
		module + "/app/desktop": {module, module + "/app/cli"},
		module + "/app/owner":   {module, module + "/app/cli", module + "/app/desktop"},
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, d := range deps(t, pkg) {
			importers, guarded := allowed[d]
			if guarded && !slices.Contains(importers, pkg) {
				t.Errorf("%s imports %s: only %v may", pkg, d, importers)
			}
			if d == module+"/app" {
				t.Errorf("%s imports app, which holds only its doc", pkg)
			}
		}
	}
	// main reaches memory through app.
	found := false
	for _, d := range deps(t, module) {
		found = found || d == module+"/memory"
	}
	if !found {
		t.Error("the binary does not include the memory package")
	}
}
