package memory

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// SoftForgetWindow is how long a soft-forgotten memory can be restored
// before PurgeForgotten erases it for good.
const SoftForgetWindow = 30 * 24 * time.Hour

// SoftForget hides a memory without erasing it: the forget that the model
// asks for, which a prompt injection could ask for too, so the person can
// undo it (Restore) for SoftForgetWindow. The memory leaves Get, List,
// Search and both indexes; it stays sealed in a new version with
// ForgottenAt set (which syncs like any edit), and the version before is
// kept as a revision. why says what the forget was for; it may be empty.
func (v *Vault) SoftForget(ctx context.Context, id, why string) (Item, error) {
	if !utf8.ValidString(why) {
		return Item{}, invalidf("the reason for forgetting is not valid UTF-8")
	}
	if len(why) > MaxTextBytes {
		return Item{}, invalidf("the reason for forgetting is %d bytes, over the %d-byte limit", len(why), MaxTextBytes)
	}
	return v.updateItem(ctx, id, "soft-forget", func(p *itemPayload) error {
		if p.ForgottenAt != nil {
			return notFoundf("memory %s is already forgotten", id)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		p.ForgottenAt, p.ForgottenWhy = &now, strings.TrimSpace(why)
		return nil
	})
}

// Restore undoes SoftForget: the memory is back in Get, List and Search.
// A memory that is not soft-forgotten (one the person forgot with Forget,
// which is final, or one never forgotten) is ErrNotFound.
func (v *Vault) Restore(ctx context.Context, id string) (Item, error) {
	return v.updateItem(ctx, id, "restore", func(p *itemPayload) error {
		if p.ForgottenAt == nil {
			return notFoundf("memory %s is not among the soft-forgotten: there is nothing to restore", id)
		}
		p.ForgottenAt, p.ForgottenWhy = nil, ""
		return nil
	})
}

// Forgotten returns the soft-forgotten memories, most recently forgotten
// first.
func (v *Vault) Forgotten(ctx context.Context) ([]Item, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return nil, err
	}
	out := []Item{}
	err = v.scanRecords(ctx, KindMemory, func(r *Record) bool {
		p, err := keys.openItem(r)
		if err != nil {
			v.log.Warn("skipping unreadable memory", "id", r.ID, "err", err)
			return true
		}
		if p.ForgottenAt != nil {
			out = append(out, p.item(r.ID))
		}
		return true
	})
	slices.SortStableFunc(out, func(a, b Item) int {
		if c := b.ForgottenAt.Compare(*a.ForgottenAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, err
}

// PurgeForgotten erases for good, as Forget does, every memory that was
// soft-forgotten more than SoftForgetWindow before now, and reports how
// many. Call Checkpoint afterwards to clear the old bytes from the
// write-ahead log too.
func (v *Vault) PurgeForgotten(ctx context.Context, now time.Time) (int, error) {
	keys, err := v.unlockedKeys()
	if err != nil {
		return 0, err
	}
	cutoff := now.Add(-SoftForgetWindow)
	var purged int
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		// Decide inside the transaction, so a Restore from another process
		// either lands before (and the memory stays) or after (and finds
		// nothing to restore).
		expired, err := expiredForgotten(ctx, tx, keys, cutoff)
		if err != nil {
			return err
		}
		for _, e := range expired {
			clock, err := v.tick(ctx, tx)
			if err != nil {
				return err
			}
			if err := forgetRecord(ctx, tx, e.rid, &Record{ID: e.id, Kind: KindMemory, Clock: clock, Origin: v.device, Deleted: true}); err != nil {
				return err
			}
		}
		purged = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge forgotten memories: %w", err)
	}
	if purged > 0 {
		v.catchUp(ctx)
	}
	return purged, nil
}

type recordRef struct {
	rid int64
	id  string
}

// expiredForgotten finds the memories soft-forgotten before cutoff.
func expiredForgotten(ctx context.Context, tx *sql.Tx, keys *vaultKeys, cutoff time.Time) ([]recordRef, error) {
	rows, err := tx.QueryContext(ctx, "SELECT rid, id, kind, sealed FROM records WHERE kind = ? AND deleted = 0", KindMemory)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []recordRef
	for rows.Next() {
		var ref recordRef
		var r Record
		if err := rows.Scan(&ref.rid, &r.ID, &r.Kind, &r.Sealed); err != nil {
			return nil, err
		}
		p, err := keys.openItem(&r)
		if err == nil && p.ForgottenAt != nil && p.ForgottenAt.Before(cutoff) {
			ref.id = r.ID
			out = append(out, ref)
		}
	}
	return out, rows.Err()
}
