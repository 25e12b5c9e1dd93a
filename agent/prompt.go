package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairnlabs/cairn/memory"
)

// ErrPromptTooLong means the person's message alone does not fit the
// model's context window.
var ErrPromptTooLong = errors.New("message too long for the model's context window")

// promptInput is what a prompt is assembled from.
type promptInput struct {
	System string
	// Memories are extracted memories, best first (used when Recall is
	// empty).
	Memories []memory.Item
	// Recall is what retrieval fused, memories and past-message passages,
	// best first.
	Recall []recallItem
	// Now, when set, is stated in the prompt as today's date.
	Now time.Time
	// Summary covers history older than what fits, when there is one.
	Summary string
	// History is the conversation thread, oldest first; its last message
	// is the one being answered.
	History []Message
	// HistoryIDs are the stored ids of History's messages, so that a
	// passage already in the window is not recalled again.
	HistoryIDs []string
	// Tools are offered with the prompt and count against the window.
	Tools []Tool
	// NumCtx is the window the model runs with; Reserve is kept free for
	// the reply.
	NumCtx, Reserve int
}

// prompt is an assembled prompt.
type prompt struct {
	Messages []Message
	// MemoryIDs are the memories in the prompt, for provenance.
	MemoryIDs []string
	// RecalledIDs are the past messages in the prompt, for provenance.
	RecalledIDs []string
	// Dropped is how many of the oldest history messages did not fit.
	Dropped int
	// Summarised says whether the summary stands in for dropped history.
	Summarised bool
	// Estimate is the cautious token estimate of the whole prompt.
	Estimate int
}

// Shares of the prompt budget: memories never crowd out the conversation,
// and the summary of older history stays short.
const (
	memoryShare  = 3 // at most a third of the budget
	summaryShare = 6 // at most a sixth
	// safetyTokens and safetyPercent pad the estimate further.
	safetyTokens  = 16
	safetyPercent = 3
)

// budget is how many prompt tokens the window leaves after the reply's
// reserve and a safety margin.
func budget(numCtx, reserve int) int {
	return numCtx - reserve - safetyTokens - numCtx*safetyPercent/100
}

// assemble builds the prompt: the system prompt and the memory block
// first (never dropped: they are what Ollama would cut), then the newest
// history that fits, then, when older history had to go, its summary.
func assemble(in promptInput) (prompt, error) {
	total := budget(in.NumCtx, in.Reserve)
	if total <= 0 || len(in.History) == 0 {
		return prompt{}, fmt.Errorf("%w: a window of %d tokens leaves no room after %d reserved for the reply", ErrPromptTooLong, in.NumCtx, in.Reserve)
	}
	var p prompt
	used := 0
	for _, t := range in.Tools {
		used += EstimateTokens(t.Name) + EstimateTokens(t.Description) + EstimateTokens(string(t.Parameters)) + messageOverhead
	}
	system := strings.TrimSpace(in.System)
	if !in.Now.IsZero() {
		// Recalled items carry their dates; the model needs today's to
		// make sense of them ("two weeks ago").
		if system != "" {
			system += "\n\n"
		}
		system += "Today is " + in.Now.Format("Monday, 2 January 2006") + "."
	}
	used += messageOverhead + EstimateTokens(system)

	// The message being answered must fit with the system prompt.
	last := in.History[len(in.History)-1]
	need := messageTokens(last)
	if used+need > total {
		return prompt{}, fmt.Errorf("%w: it needs about %d tokens and the window of %d leaves %d: shorten it, or raise the model's context length in settings", ErrPromptTooLong, need, in.NumCtx, max(total-used, 0))
	}

	// Recalled items, best first, within their share; rendered once the
	// history is chosen, so that a passage already in the window is left
	// out.
	recall := in.Recall
	if len(recall) == 0 {
		for i := range in.Memories {
			recall = append(recall, recallItem{Memory: &in.Memories[i]})
		}
	}
	memBudget := min(total/memoryShare, total-used-need)
	memUsed := EstimateTokens(memoryHeader) + EstimateTokens(passageHeader)
	var chosen []recallItem
	for _, it := range recall {
		t := EstimateTokens(recallLine(it)) + 1
		if memUsed+t > memBudget {
			continue // a shorter one further down may still fit
		}
		chosen = append(chosen, it)
		memUsed += t
	}
	if len(chosen) == 0 {
		memUsed = 0
	}
	used += memUsed + need

	// History, newest first, as much as fits.
	keep := len(in.History) - 1
	summary := strings.TrimSpace(in.Summary)
	sumTokens := 0
	if summary != "" {
		sumTokens = EstimateTokens(summaryHeader) + EstimateTokens(summary)
		if sumTokens > total/summaryShare {
			summary, sumTokens = "", 0
		}
	}
	fits := func(extra int) bool { return used+extra <= total }
	all := 0
	for _, m := range in.History[:keep] {
		all += messageTokens(m)
	}
	if fits(all) {
		used += all
		keep = 0
	}
	for keep > 0 {
		// Leave room for the summary that will stand in for what is dropped.
		t := messageTokens(in.History[keep-1])
		if !fits(t + sumTokens) {
			break
		}
		used += t
		keep--
	}
	// A tool result cannot lead without its call.
	for keep < len(in.History)-1 && in.History[keep].Role == "tool" {
		used -= messageTokens(in.History[keep])
		keep++
	}
	p.Dropped = keep
	inWindow := map[string]bool{}
	for _, id := range in.HistoryIDs[min(keep, len(in.HistoryIDs)):] {
		inWindow[id] = true
	}
	if block := p.renderRecall(chosen, inWindow); block != "" {
		if system != "" {
			system += "\n\n"
		}
		system += block
	}
	if p.Dropped > 0 && summary != "" {
		if system != "" {
			system += "\n\n"
		}
		system += summaryHeader + summary
		used += sumTokens
		p.Summarised = true
	}
	if system != "" {
		p.Messages = append(p.Messages, Message{Role: "system", Content: system})
	}
	p.Messages = append(p.Messages, in.History[keep:]...)
	p.Estimate = used
	return p, nil
}

const (
	memoryHeader  = "What you remember about the person (from their memory vault; [id] before each):\n"
	passageHeader = "From past conversations with the person ([message id], date, conversation title and id; their words or yours as written then):\n"
	summaryHeader = "Summary of the earlier part of this conversation:\n"
)

// renderRecall writes the recall block, memories first, then passages not
// already in the window, and notes what it holds for provenance.
func (p *prompt) renderRecall(items []recallItem, inWindow map[string]bool) string {
	var mems, passages strings.Builder
	for _, it := range items {
		switch {
		case it.Memory != nil:
			mems.WriteString(recallLine(it))
			p.MemoryIDs = append(p.MemoryIDs, it.Memory.ID)
		case !inWindow[it.Passage.Message.ID]:
			passages.WriteString(recallLine(it))
			p.RecalledIDs = append(p.RecalledIDs, it.Passage.Message.ID)
		}
	}
	var out []string
	if mems.Len() > 0 {
		out = append(out, memoryHeader+strings.TrimSpace(mems.String()))
	}
	if passages.Len() > 0 {
		out = append(out, passageHeader+strings.TrimSpace(passages.String()))
	}
	return strings.Join(out, "\n\n")
}

// Bounds on a recalled passage in the prompt: its text, and the turn it
// answered when it is short on its own ("Yes, in May").
const (
	passageRunes   = 480
	shortRunes     = 120
	answeringRunes = 200
)

func recallLine(it recallItem) string {
	if it.Memory != nil {
		return memoryLine(*it.Memory)
	}
	r := it.Passage
	who := "the person said"
	if r.Message.Role == memory.RoleAssistant {
		who = "you said"
	}
	text := clipRunes(strings.Join(strings.Fields(r.Message.Content), " "), passageRunes)
	line := fmt.Sprintf("- [%s] %s, in %q (conversation %s), %s: %s", r.Message.ID, r.Message.CreatedAt.Format("2006-01-02"), r.ConversationTitle, r.Message.ConversationID, who, text)
	if b := r.Before; b != nil && utf8.RuneCountInString(text) < shortRunes {
		line += " (answering: " + clipRunes(strings.Join(strings.Fields(b.Content), " "), answeringRunes) + ")"
	}
	return line + "\n"
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func memoryLine(m memory.Item) string {
	text := strings.Join(strings.Fields(m.Text), " ")
	if m.UpdatedAt.IsZero() {
		return fmt.Sprintf("- [%s] (%s) %s\n", m.ID, m.Kind, text)
	}
	return fmt.Sprintf("- [%s] (%s, %s) %s\n", m.ID, m.Kind, m.UpdatedAt.Format("2006-01-02"), text)
}
