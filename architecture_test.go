package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// pictureBox finds the packages drawn in docs/ARCHITECTURE.md's picture.
var pictureBox = regexp.MustCompile(`main\.go|\bapp/(?:apitype|api|cli|desktop|client|owner)\b|(?:^|[^\w/])(?:agent|sync|gym|memory)/`)

// TestArchitecturePictureMatchesTheImports reads the picture at the top of
// docs/ARCHITECTURE.md as layers, one a row, and holds every import
// between the packages it draws (go list) to point to a lower row: move a
// box, or import upwards or sideways, and the picture and the code must
// change together. A package below a drawn one (memory/portable) is in
// its row.
func TestArchitecturePictureMatchesTheImports(t *testing.T) {
	doc, err := os.ReadFile("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```\n")
	picture, _, _ := strings.Cut(rest, "```")
	row := map[string]int{} // package import path -> row in the picture
	for i, line := range strings.Split(picture, "\n") {
		for _, box := range pictureBox.FindAllString(line, -1) {
			box = strings.TrimLeft(box, " (|\\/'-")
			pkg := module + "/" + strings.TrimSuffix(box, "/")
			if box == "main.go" {
				pkg = module
			}
			if _, seen := row[pkg]; !seen {
				row[pkg] = i
			}
		}
	}
	if len(row) != 11 {
		t.Fatalf("the picture draws %d packages, want 11 (main, app/cli, app/desktop, app/client, app/owner, app/api, app/apitype, agent, sync, gym, memory): %v", len(row), row)
	}
	// boxOf is the drawn package pkg is, or is under.
	boxOf := func(pkg string) (string, bool) {
		if _, ok := row[pkg]; ok {
			return pkg, true
		}
		for p := range row {
			if p != module && strings.HasPrefix(pkg, p+"/") && !strings.HasPrefix(pkg, module+"/app/") {
				return p, true
			}
		}
		return "", false
	}
	out, err := exec.Command("go", "list", "-tags", "sqlite_fts5", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		from, ok := boxOf(f[0])
		if !ok {
			continue // a test helper, or app's doc
		}
		for _, imp := range f[1:] {
			to, ok := boxOf(imp)
			if !ok || to == from {
				continue // outside the picture, or inside one box
			}
			if row[to] <= row[from] {
				t.Errorf("%s imports %s, which the picture in docs/ARCHITECTURE.md draws %s it: redraw the picture or change the import", f[0], imp, map[bool]string{true: "beside", false: "above"}[row[to] == row[from]])
			}
		}
	}
}
