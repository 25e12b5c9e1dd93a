package importers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

// chatGPTExport writes a ChatGPT conversations.json of convs conversations
// of turns messages each, alternating user and assistant, each replying to
// the one before; texts of 20 to 200 words from a Zipf-distributed
// vocabulary, as people write.
func chatGPTExport(tb testing.TB, convs, turns int) string {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 20_000-1)
	suffixes := []string{"", "s", "ing", "ed", "ation", "ly", "ness"}
	text := func() string {
		var b bytes.Buffer
		for w := range 20 + rng.IntN(181) {
			if w > 0 {
				b.WriteByte(' ')
			}
			i := zipf.Uint64()
			b.WriteString("w" + strconv.FormatUint(i, 36) + suffixes[i%uint64(len(suffixes))])
		}
		return b.String()
	}
	type node struct {
		ID      string          `json:"id"`
		Message json.RawMessage `json:"message"`
		Parent  *string         `json:"parent"`
	}
	var out []map[string]any
	at := 1.7e9
	for c := range convs {
		mapping := map[string]node{}
		parent := ""
		for m := range turns {
			id := fmt.Sprintf("c%d-m%d", c, m)
			role := "user"
			if m%2 == 1 {
				role = "assistant"
			}
			at++
			msg, _ := json.Marshal(map[string]any{"id": id, "author": map[string]any{"role": role}, "create_time": at,
				"content": map[string]any{"content_type": "text", "parts": []string{text()}}})
			n := node{ID: id, Message: msg}
			if parent != "" {
				p := parent
				n.Parent = &p
			}
			mapping[id] = n
			parent = id
		}
		out = append(out, map[string]any{"id": fmt.Sprintf("conv-%d", c), "title": fmt.Sprintf("Conversation %d", c),
			"create_time": at, "update_time": at, "mapping": mapping, "current_node": parent})
	}
	raw, err := json.Marshal(out)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "conversations.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkImportChatGPT is a ChatGPT export of 100k messages (2,500
// conversations of 40) imported into a fresh vault: detection, parsing and
// the apply path (sealing, the passage index, fsync'd batches), as `cairn
// import` runs it. -short imports 10k.
func BenchmarkImportChatGPT(b *testing.B) {
	convs := 2_500
	if testing.Short() {
		convs = 250
	}
	const turns = 40
	path := chatGPTExport(b, convs, turns)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		v := newVault(b)
		b.StartTimer()
		cpu0 := memtest.ProcessCPU()
		sum, _, err := ImportFile(context.Background(), v, path, FileOptions{})
		cpu += memtest.ProcessCPU() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if got := sum.ByKind[string(memory.KindMessage)].New; got != convs*turns {
			b.Fatalf("imported %d messages, want %d: %+v", got, convs*turns, sum)
		}
	}
	b.ReportMetric(float64(convs*turns)*float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/import")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/import")
}
