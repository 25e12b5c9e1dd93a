package uitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// BenchmarkUIBundle reports the built web UI's size: every file of
// frontend/dist, raw and gzipped (level 9), in all.
func BenchmarkUIBundle(b *testing.B) {
	dist := filepath.Join(repoRoot(b), "frontend/dist")
	var raw, gz int
	for b.Loop() {
		raw, gz = 0, 0
		err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			w.Write(data)
			w.Close()
			raw += len(data)
			gz += buf.Len()
			return nil
		})
		if err != nil {
			b.Fatalf("%v (run `make frontend` first)", err)
		}
	}
	b.ReportMetric(float64(raw), "bytes-raw")
	b.ReportMetric(float64(gz), "bytes-gzip")
}

// BenchmarkUIColdStart measures a cold page load of the web UI in
// Chromium (fresh context, empty cache) against `cairn serve --ui` with an
// unlocked vault: first contentful paint and the chat screen usable (its
// conversation list drawn, after the API answered). One load per b.N;
// the browser's own start is not counted.
func BenchmarkUIColdStart(b *testing.B) {
	root := repoRoot(b)
	browser := chromium(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	home := filepath.Join(b.TempDir(), "home")
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(home, "vault.db"), KDF: memory.KDFParams{MemoryKiB: 8 * 1024, Passes: 1, Parallelism: 1}}, []byte("correct horse battery staple"))
	if err != nil {
		b.Fatal(err)
	}
	v.Close()
	srv := startUI(b, ctx, buildCairn(b, ctx, root), home, []string{"CAIRN_PASSPHRASE=correct horse battery staple"})
	tok, err := os.ReadFile(filepath.Join(home, "api-token"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	node := exec.CommandContext(ctx, "node", "e2e/paint.mjs")
	node.Dir = filepath.Join(root, "frontend")
	node.Env = append(os.Environ(), "CAIRN_URL="+srv.url, "CAIRN_TOKEN="+strings.TrimSpace(string(tok)), "CHROMIUM="+browser, "LOADS="+strconv.Itoa(b.N))
	out, err := node.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("paint.mjs: %v\n%s", err, out)
	}
	var r struct {
		FCP   []float64 `json:"fcp_ms"`
		Ready []float64 `json:"ready_ms"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil || len(r.Ready) == 0 {
		b.Fatalf("paint.mjs said %q: %v", out, err)
	}
	b.ReportMetric(median(r.FCP), "ms-fcp/p50")
	b.ReportMetric(median(r.Ready), "ms-ready/p50")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
