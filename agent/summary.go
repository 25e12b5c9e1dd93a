package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnlabs/cairn/memory"
)

const summaryPrompt = `Summarise this conversation so far for yourself, to continue it later: who said what that still matters, decisions, open questions. At most 150 words, in the conversation's language. Reply with the summary only.`

// maxSummaryOutput bounds a summary's tokens.
const maxSummaryOutput = 300

// enqueueSummary summarises the history that no longer fits the window,
// so the next turn can stand it in for what it drops.
func (a *Agent) enqueueSummary(b Backend, model string, numCtx int, convID string, dropped []memory.Message, previous string) {
	if len(dropped) == 0 {
		return
	}
	through := dropped[len(dropped)-1].ID
	a.bg.enqueue("summarise history", func(ctx context.Context) error {
		var in strings.Builder
		if previous != "" {
			fmt.Fprintf(&in, "EARLIER SUMMARY:\n%s\n\n", previous)
		}
		// Fit the transcript in the window, newest last; the earlier
		// summary covers what is cut from the front.
		room := budget(numCtx, maxSummaryOutput) - EstimateTokens(summaryPrompt) - EstimateTokens(in.String()) - 2*messageOverhead
		var lines []string
		for i := len(dropped) - 1; i >= 0; i-- {
			m := dropped[i]
			if m.Role != memory.RoleUser && m.Role != memory.RoleAssistant {
				continue
			}
			line := fmt.Sprintf("%s: %s\n", strings.ToUpper(string(m.Role)), m.Content)
			t := EstimateTokens(line)
			if t > room {
				break
			}
			room -= t
			lines = append(lines, line)
		}
		for i := len(lines) - 1; i >= 0; i-- {
			in.WriteString(lines[i])
		}
		temp := 0.0
		resp, err := b.Chat(ctx, ChatRequest{
			Model: model, NumCtx: numCtx, NumPredict: maxSummaryOutput, Temperature: &temp, Seed: a.cfg.Seed,
			Messages: []Message{{Role: "system", Content: summaryPrompt}, {Role: "user", Content: in.String()}},
		}, nil)
		if err != nil {
			return err
		}
		text := strings.TrimSpace(resp.Message.Content)
		if text == "" {
			return nil
		}
		text = clip(text, 4000)
		_, err = a.store.EditConversation(ctx, convID, memory.ConversationPatch{Summary: &text, SummaryThrough: &through})
		return err
	})
}
