package agent

import (
	"context"
	"errors"

	"github.com/cairnlabs/cairn/memory"
)

// passageEmbedder is what background embedding of past messages needs of
// the store (memory.Vault has it).
type passageEmbedder interface {
	EmbedPassages(ctx context.Context, progress func(done, total int)) error
}

// EmbedPastMessages queues embedding every past message that has no
// vector yet, as background work: it runs while no reply streams, yields
// to a reply and goes on after it, and embeds the memories waiting first.
// Chat recall and message search use the vectors as they arrive, and
// keywords meanwhile. It is optional work: Wait and Busy do not count it,
// so `cairn chat` exits without waiting for it (what is left is embedded
// later). Without an embedding model, or while the vault is
// locked, it does nothing; a failing embedder is reported by the vault's
// embedding status. Calling it again while queued adds nothing.
func (a *Agent) EmbedPastMessages() {
	pe, ok := a.store.(passageEmbedder)
	if !ok || !a.embedQueued.CompareAndSwap(false, true) {
		return
	}
	a.bg.enqueueOptional("embed past messages", func(ctx context.Context) error {
		err := pe.EmbedPassages(ctx, nil)
		if errors.Is(context.Cause(ctx), errPreempted) {
			return ctx.Err() // runs again after the reply
		}
		a.embedQueued.Store(false)
		if err != nil && !errors.Is(err, memory.ErrNoEmbedder) && !errors.Is(err, memory.ErrLocked) && ctx.Err() == nil {
			a.log.Info("embedding past messages paused; message search uses keywords for those meanwhile", "err", safeErr(err))
		}
		return nil
	})
}
