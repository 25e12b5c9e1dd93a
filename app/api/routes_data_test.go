package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/portable"
)

func (f *fixture) exportBody(in ExportRequest) (response, http.Header) {
	f.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/export", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return response{status: resp.StatusCode, body: buf.String()}, resp.Trailer
}

// Export through the API, import through another API (another device):
// the same memories; a wrong passphrase and a damaged bundle are refused
// with their own codes, and the progress arrives as events.
func TestExportImportAPI(t *testing.T) {
	a := newFixture(t)
	ctx := context.Background()
	for _, text := range []string{"Ana lives in Lisbon", "Prefers green tea", "Allergic to cats"} {
		if _, err := a.vault.Add(ctx, memory.NewItem{Text: text, Tags: []string{"me"}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, trailer := a.exportBody(ExportRequest{Format: "bundle", Passphrase: "a bundle passphrase"})
	if resp.status != 200 || trailer.Get(trailerExportRecords) != "3" || !strings.HasPrefix(resp.body, "age-encryption.org/v1") {
		t.Fatalf("export: %d %q %v", resp.status, resp.body[:min(len(resp.body), 80)], trailer)
	}
	bundle := resp.body
	if r, _ := a.exportBody(ExportRequest{Format: "bundle", Passphrase: "short"}); r.status != 400 {
		t.Fatalf("short passphrase: %+v", r)
	}
	jsonl, _ := a.exportBody(ExportRequest{Format: "jsonl", Tags: []string{"me"}})
	if jsonl.status != 200 || strings.Count(jsonl.body, "\n") != 4 {
		t.Fatalf("jsonl: %+v", jsonl)
	}
	md, _ := a.exportBody(ExportRequest{Format: "markdown"})
	if md.status != 200 || !strings.HasPrefix(md.body, "PK") || !strings.Contains(md.body, "memories.md") {
		t.Fatalf("markdown zip: %d %.80q", md.status, md.body)
	}
	if tok, err := a.tokens.Create("reader", []string{ScopeMemoryRead}); err == nil {
		if r := a.do("POST", "/api/v1/export", tok, strings.NewReader(`{"format":"jsonl"}`)); r.status != 403 {
			t.Fatalf("a memory:read token exported the vault: %+v", r)
		}
	}

	// An age file that the passphrase opens but that holds no bundle.
	var notBundle strings.Builder
	rcpt, _ := portable.PassphraseRecipient("a bundle passphrase", 10)
	w, err := age.Encrypt(&notBundle, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("my shopping list\n"))
	w.Close()

	b := newFixture(t)
	cases := []struct {
		name, body, pass, query string
		status                  int
		code                    string
	}{
		{"wrong passphrase", bundle, "not the passphrase", "", 403, "wrong_bundle_key"},
		{"truncated", bundle[:len(bundle)-20], "a bundle passphrase", "", 422, "bundle_damaged"},
		{"not a bundle", notBundle.String(), "a bundle passphrase", "", 422, "not_a_bundle"},
		{"nothing", "{\"cairn\":\"jsonl\",\"version\":1}\n", "", "", 422, "nothing_to_import"},
		{"unknown", "hello", "", "", 415, "unknown_format"},
		{"dry run", bundle, "a bundle passphrase", "?dry_run=true", 200, ""},
	}
	for _, c := range cases {
		r := b.do("POST", "/api/v1/import"+c.query, b.admin, strings.NewReader(c.body), headerBundlePassphrase, c.pass)
		if r.status != c.status || !strings.Contains(r.body, c.code) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if items, _ := b.vault.List(ctx, memory.ListOptions{}); len(items) != 0 {
		t.Fatalf("refused imports or a dry run wrote %d memories", len(items))
	}
	r := b.do("POST", "/api/v1/import", b.admin, strings.NewReader(bundle), headerBundlePassphrase, "a bundle passphrase", "Accept", "text/event-stream")
	if r.status != 200 || !strings.Contains(r.body, "event: progress") || !strings.Contains(r.body, "event: done") || !strings.Contains(r.body, `"new":3`) {
		t.Fatalf("import with events: %d %s", r.status, r.body)
	}
	if items, _ := b.vault.List(ctx, memory.ListOptions{}); len(items) != 3 {
		t.Fatalf("%d memories after import", len(items))
	}
	if entries, _ := os.ReadDir(os.TempDir()); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "upload-") && strings.HasSuffix(e.Name(), ".part") {
				t.Errorf("upload %s left behind", e.Name())
			}
		}
	}
	if !slices.ContainsFunc(New(Config{}).table, func(r route) bool { return r.pattern == "POST /api/v1/import" && r.summary != "" }) {
		t.Fatal("import is not in the OpenAPI document")
	}
}
