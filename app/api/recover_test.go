package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// TestRecoverSetsANewPassphrase: a wrong recovery key changes nothing; the
// right one sets the new passphrase and unlocks; the old one then fails.
func TestRecoverSetsANewPassphrase(t *testing.T) {
	dir := t.TempDir()
	v, key, err := memory.Create(context.Background(), memory.Config{Path: filepath.Join(dir, "vault.db"), KDF: testKDF}, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	toks, _ := OpenTokens(dir)
	admin, _, _ := toks.EnsureDefault()
	srv := httptest.NewServer(New(Config{Vault: v, Tokens: toks}).Handler())
	t.Cleanup(srv.Close)
	f := &fixture{t: t, srv: srv, vault: v, tokens: toks, admin: admin}
	f.do("POST", "/api/v1/lock", admin, nil)
	wrong := `{"recovery_key":"AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH-IIII-JJJJ-KKKK-LLLL-MMMM","new_passphrase":"a new passphrase"}`
	if r := f.do("POST", "/api/v1/recover", admin, strings.NewReader(wrong)); r.status != http.StatusForbidden || errorCode(t, r) != "wrong_recovery_key" {
		t.Fatalf("wrong key: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/recover", admin, strings.NewReader(`{"recovery_key":"`+key+`","new_passphrase":"short"}`)); r.status != 400 {
		t.Fatalf("short passphrase: %d %s", r.status, r.body)
	}
	if !v.Locked() {
		t.Fatal("a refused recovery unlocked the vault")
	}
	if r := f.do("POST", "/api/v1/recover", admin, strings.NewReader(`{"recovery_key":"`+strings.ToLower(key)+`","new_passphrase":"a new passphrase"}`)); r.status != 200 || v.Locked() {
		t.Fatalf("recover: %d %s (locked %v)", r.status, r.body, v.Locked())
	}
	v.Lock()
	if r := f.do("POST", "/api/v1/unlock", admin, strings.NewReader(`{"passphrase":"`+testPass+`"}`)); r.status != 403 {
		t.Fatalf("the old passphrase still opens it: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/api/v1/unlock", admin, strings.NewReader(`{"passphrase":"a new passphrase"}`)); r.status != 200 {
		t.Fatalf("the new passphrase: %d %s", r.status, r.body)
	}
}
