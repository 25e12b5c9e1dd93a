package main

import (
	"os/exec"
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
// tests import), and nothing imports app but main.
func TestDependencyDirection(t *testing.T) {
	for _, d := range deps(t, module+"/memory") {
		t.Errorf("memory imports %s: memory must import no other package of the project", d)
	}
	out, err := exec.Command("go", "list", "-tags", "sqlite_fts5", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == module || pkg == module+"/app" {
			continue
		}
		for _, d := range deps(t, pkg) {
			if d == module+"/app" {
				t.Errorf("%s imports app: nothing but main may import app", pkg)
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
