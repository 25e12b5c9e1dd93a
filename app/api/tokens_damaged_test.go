package api

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A damaged tokens.json is reported as such, and rotating the default
// token starts a new list that works.
func TestRotateRecoversADamagedTokenList(t *testing.T) {
	dir := t.TempDir()
	toks, err := OpenTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := toks.Create("script", []string{ScopeMemoryRead}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := toks.Create("other", []string{ScopeMemoryRead}); !errors.Is(err, ErrTokensDamaged) {
		t.Fatalf("create on a damaged list: %v, want ErrTokensDamaged", err)
	}
	tok, err := toks.Rotate()
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if _, ok := toks.Check(tok); !ok {
		t.Fatal("the rotated token does not work")
	}
}
