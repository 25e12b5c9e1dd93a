package agent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cairnlabs/cairn/memory"
)

// ErrPromptTooLong means the person's message alone does not fit the
// model's context window.
var ErrPromptTooLong = errors.New("message too long for the model's context window")

// promptInput is what a prompt is assembled from.
type promptInput struct {
	System   string
	Memories []memory.Item // best first
	// Summary covers history older than what fits, when there is one.
	Summary string
	// History is the conversation thread, oldest first; its last message
	// is the one being answered.
	History []Message
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
	used += messageOverhead + EstimateTokens(system)

	// The message being answered must fit with the system prompt.
	last := in.History[len(in.History)-1]
	need := messageTokens(last)
	if used+need > total {
		return prompt{}, fmt.Errorf("%w: it needs about %d tokens and the window of %d leaves %d: shorten it, or raise the model's context length in settings", ErrPromptTooLong, need, in.NumCtx, max(total-used, 0))
	}

	// Memories, best first, within their share.
	var block strings.Builder
	memBudget := min(total/memoryShare, total-used-need)
	memUsed := 0
	for _, m := range in.Memories {
		line := memoryLine(m)
		t := EstimateTokens(line) + 1
		if memUsed+t > memBudget {
			continue // a shorter one further down may still fit
		}
		if block.Len() == 0 {
			block.WriteString(memoryHeader)
			memUsed += EstimateTokens(memoryHeader)
		}
		block.WriteString(line)
		memUsed += t
		p.MemoryIDs = append(p.MemoryIDs, m.ID)
	}
	if block.Len() > 0 {
		if system != "" {
			system += "\n\n"
		}
		system += strings.TrimSpace(block.String())
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
	summaryHeader = "Summary of the earlier part of this conversation:\n"
)

func memoryLine(m memory.Item) string {
	text := strings.Join(strings.Fields(m.Text), " ")
	return fmt.Sprintf("- [%s] (%s) %s\n", m.ID, m.Kind, text)
}
