package api

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cairnlabs/cairn/memory"
)

// storedChats fills a vault with n conversations of two exchanges each;
// the first message of every conversation whose index is a multiple of
// same is "hello there", the others are different.
func storedChats(tb testing.TB, n, same int) (*openAI, [][]chatMsg) {
	tb.Helper()
	ctx := context.Background()
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(tb.TempDir(), "vault.db"), KDF: testKDF}, []byte(testPass))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	var histories [][]chatMsg
	for i := range n {
		first := "question " + strconv.Itoa(i) + " about gardening and tomatoes"
		if same > 0 && i%same == 0 {
			first = "hello there"
		}
		h := []chatMsg{
			{Role: memory.RoleUser, Content: first}, {Role: memory.RoleAssistant, Content: "answer " + strconv.Itoa(i)},
			{Role: memory.RoleUser, Content: "and then?"}, {Role: memory.RoleAssistant, Content: "more " + strconv.Itoa(i)},
		}
		c, err := v.CreateConversation(ctx, memory.NewConversation{Title: first})
		if err != nil {
			tb.Fatal(err)
		}
		parent := ""
		for _, m := range h {
			stored, err := v.AddMessage(ctx, memory.NewMessage{ConversationID: c.ID, ParentID: parent, Role: m.Role, Content: m.Content})
			if err != nil {
				tb.Fatal(err)
			}
			parent = stored.ID
		}
		histories = append(histories, h)
	}
	return &openAI{s: New(Config{Vault: v}), threads: newThreadCache(16)}, histories
}

// A history is found in the vault without the cache (a server that has
// just started), among many conversations, and among several that start
// with the same words.
func TestOpenAIFindsStoredHistory(t *testing.T) {
	ctx := context.Background()
	o, histories := storedChats(t, 120, 20)
	for _, i := range []int{0, 7, 40, 119} {
		conv, leaf, err := o.find(ctx, histories[i])
		if err != nil || conv == "" || leaf == "" {
			t.Fatalf("history %d: %q %q %v", i, conv, leaf, err)
		}
		msgs, _ := o.s.cfg.Vault.Messages(ctx, conv)
		if msgs[len(msgs)-1].ID != leaf || msgs[0].Content != histories[i][0].Content || msgs[1].Content != histories[i][1].Content {
			t.Fatalf("history %d matched %+v", i, msgs)
		}
		// A prefix matches at its own end; a changed one matches nothing.
		if _, leaf2, _ := o.find(ctx, histories[i][:2]); leaf2 != msgs[1].ID {
			t.Fatalf("prefix of %d ends at %s, want %s", i, leaf2, msgs[1].ID)
		}
		changed := slices.Clone(histories[i])
		changed[1].Content += "!"
		if conv, _, _ := o.find(ctx, changed); conv != "" {
			t.Fatalf("changed history %d matched %s", i, conv)
		}
	}
}

// BenchmarkOpenAIFindHistory is the lookup a request without the
// conversation header pays, in a vault of 2,000 conversations: "miss" when
// the cache does not know the history (a server that has just started),
// "hit" when this server answered it.
func BenchmarkOpenAIFindHistory(b *testing.B) {
	ctx := context.Background()
	o, histories := storedChats(b, 2000, 100)
	for _, cached := range []bool{false, true} {
		name := "miss"
		if cached {
			name = "hit"
		}
		b.Run(name, func(b *testing.B) {
			var times []time.Duration
			for i := 0; b.Loop(); i++ {
				h := histories[(i*37)%len(histories)]
				o.threads = newThreadCache(4096)
				if cached {
					conv, _, _ := o.find(ctx, h)
					o.threads.put(h, conv)
				}
				start := time.Now()
				if conv, _, err := o.find(ctx, h); err != nil || conv == "" {
					b.Fatalf("not found: %v", err)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
