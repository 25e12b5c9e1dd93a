package api

import (
	"context"

	"github.com/cairnlabs/cairn/agent"
)

// limitsFor is what a chat turn may do with memory for the token in ctx:
// memories enter the prompt only with memory:read, the model gets the
// remember and forget tools only with memory:write, and extraction runs
// only with memory:learn. The same holds on every chat path (native,
// regenerate, /v1/chat/completions).
func limitsFor(ctx context.Context) agent.Limits {
	tok, _ := tokenFrom(ctx)
	return agent.Limits{
		NoRecall:      !tok.Has(ScopeMemoryRead),
		NoMemoryWrite: !tok.Has(ScopeMemoryWrite),
		NoExtraction:  !tok.Has(ScopeMemoryLearn),
	}
}

// personal reports whether the token in ctx is the person's own (the
// default token the CLI uses, the app's window, a signed-in browser): an
// admin. What a client forgets is only hidden, restorable for 30 days;
// what the person forgets is gone.
func personal(ctx context.Context) bool {
	tok, _ := tokenFrom(ctx)
	return tok.Has(ScopeAdmin)
}
