package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/atomicfile"
	"github.com/cairnlabs/cairn/memory/portable"
)

// Extraction from imported history: after `cairn import --extract`, the
// agent reads each imported message of the person's and proposes memories
// from it, as it does after a chat turn (every memory must quote the
// person's words). A large history takes a model a long time, so the list
// of messages and how far it got are kept in the home's imports/ folder:
// Ctrl-C stops it, and the same command again goes on where it stopped
// (or, once it is done, says so rather than reading everything again).

// userMessages collects the ids of the person's messages an import yields.
type userMessages struct{ ids []string }

func (u *userMessages) observe(e portable.Entry) {
	if e.Record == nil || e.Record.Kind != memory.KindMessage || e.Record.Deleted {
		return
	}
	var head struct {
		Role memory.Role `json:"role"`
	}
	if json.Unmarshal(e.Record.Payload, &head) == nil && head.Role == memory.RoleUser {
		u.ids = append(u.ids, e.Record.ID)
	}
}

type extractJournal struct {
	IDs  []string `json:"ids"`
	Done int      `json:"done"`
}

func extractJournalPath(home string, ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\n"))
	}
	return filepath.Join(home, "imports", "extract-"+hex.EncodeToString(h.Sum(nil))[:32]+".json")
}

func saveExtractJournal(path string, j extractJournal) error {
	raw, _ := json.Marshal(j)
	return atomicfile.Write(path, raw, 0o600)
}

// extractFromImport runs extraction over the person's imported messages,
// resuming a run that stopped.
func (c *cli) extractFromImport(ctx context.Context, sess *owner.Session, model string, ids []string) error {
	if len(ids) == 0 {
		fmt.Fprintln(c.Stderr, "No messages of yours in this import to extract memories from.")
		return nil
	}
	if err := os.MkdirAll(filepath.Join(c.HomeDir, "imports"), 0o700); err != nil {
		return err
	}
	path := extractJournalPath(c.HomeDir, ids)
	j := extractJournal{IDs: ids}
	if raw, err := os.ReadFile(path); err == nil {
		var old extractJournal
		if json.Unmarshal(raw, &old) == nil && len(old.IDs) == len(ids) {
			j.Done = old.Done
		}
	}
	if j.Done >= len(ids) {
		fmt.Fprintf(c.Stderr, "Memories were already extracted from these %d messages.\n", len(ids))
		return nil
	}
	model, err := sess.DefaultModel(ctx, model)
	if err != nil {
		return err
	}
	if j.Done > 0 {
		fmt.Fprintf(c.Stderr, "Resuming extraction at message %d of %d.\n", j.Done+1, len(ids))
	}
	bar := newProgressBar(c.Stderr, c.isTerminalErr())
	var stored, dropped, junk int
	for ; j.Done < len(ids); j.Done++ {
		if err := ctx.Err(); err != nil {
			bar.done()
			return errors.New("extraction stopped: the memories found so far are kept; run the same command again to go on")
		}
		bar.update(agent.PullProgress{Status: "extracting memories", Total: int64(len(ids)), Completed: int64(j.Done)})
		m, err := sess.Vault.Message(ctx, ids[j.Done])
		if err != nil {
			continue // deleted since, or refused by the import
		}
		before := ""
		if m.ParentID != "" {
			if p, err := sess.Vault.Message(ctx, m.ParentID); err == nil && p.Role == memory.RoleAssistant {
				before = p.Content
			}
		}
		rep, err := sess.Agent.Extract(ctx, model, m, before)
		if err != nil && ctx.Err() == nil {
			bar.done()
			return fmt.Errorf("extract memories from message %s: %w (run the same command again to go on)", m.ID, err)
		}
		stored, dropped = stored+rep.Stored, dropped+rep.Dropped
		if rep.Junk {
			junk++
		}
		if err := saveExtractJournal(path, extractJournal{IDs: ids, Done: j.Done + 1}); err != nil {
			return fmt.Errorf("save extraction progress: %w", err)
		}
	}
	bar.update(agent.PullProgress{Status: "extracting memories", Total: int64(len(ids)), Completed: int64(len(ids))})
	bar.done()
	msg := fmt.Sprintf("Extraction read %d of your messages: %s stored, %s dropped", len(ids), countOf(stored, "memory"), countOf(dropped, "proposal"))
	if junk > 0 {
		msg += fmt.Sprintf(", %d answers of the model unusable", junk)
	}
	fmt.Fprintln(c.Stderr, strings.TrimSpace(msg)+".")
	return nil
}
