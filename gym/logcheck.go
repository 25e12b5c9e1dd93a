package gym

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// The contributor's side of the transparency log: it keeps the latest
// checkpoint each gym signed, and checks that every later one extends it
// (a consistency proof from the gym's tiles) and that every receipt's
// items are in the log. A gym that drops or changes an accepted item
// cannot produce a checkpoint that passes both.

const logCheckSchema = `
CREATE TABLE IF NOT EXISTS gym_logs (
	gym TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	note BLOB NOT NULL,
	checked INTEGER NOT NULL,
	problem TEXT NOT NULL DEFAULT '',
	evidence BLOB
);`

// ErrLogRewritten means a gym signed a checkpoint that does not extend
// one it signed before, or a receipt whose items are not in its log: it
// dropped or changed history.
var ErrLogRewritten = errors.New("the gym rewrote its log")

// LogStatus is what the contributor knows of a gym's log.
type LogStatus struct {
	Gym  string `json:"gym"`
	Size int64  `json:"size"`
	Root string `json:"root"`
	// Checkpoint is the latest signed checkpoint seen (the note).
	Checkpoint string    `json:"checkpoint"`
	Checked    time.Time `json:"checked"`
	// Problem says how the gym broke its log, once it did; it stays.
	Problem string `json:"problem,omitempty"`
	// Evidence is the signed checkpoints (or receipt) that prove it.
	Evidence string `json:"evidence,omitempty"`
}

// LogStatus is the kept state of a gym's log (false before any).
func (c *Contributor) LogStatus(ctx context.Context, g GymInfo) (LogStatus, bool, error) {
	var st LogStatus
	var note, evidence []byte
	var checked int64
	err := c.db.QueryRowContext(ctx, "SELECT size, note, checked, problem, evidence FROM gym_logs WHERE gym = ?", g.ID).Scan(&st.Size, &note, &checked, &st.Problem, &evidence)
	if errors.Is(err, sql.ErrNoRows) {
		return LogStatus{Gym: g.ID}, false, nil
	}
	if err != nil {
		return st, false, err
	}
	st.Gym, st.Checked = g.ID, time.UnixMilli(checked).UTC()
	if st.Problem != "" {
		st.Evidence = string(evidence)
		return st, true, nil
	}
	cp, err := OpenCheckpoint(g.Manifest, note)
	if err != nil {
		return st, false, fmt.Errorf("gym %s: the kept checkpoint: %w", g.ID, err)
	}
	st.Root, st.Checkpoint = cp.Hash.String(), string(note)
	return st, true, nil
}

// VerifyReport is what VerifyLog checked.
type VerifyReport struct {
	Gym string `json:"gym"`
	// Previous is the size of the checkpoint kept before; Size and Root
	// are the gym's latest.
	Previous int64  `json:"previous"`
	Size     int64  `json:"size"`
	Root     string `json:"root"`
	// Receipts and Items count the receipts and logged items proved in
	// the latest tree.
	Receipts int `json:"receipts"`
	Items    int `json:"items"`
}

// VerifyLog fetches the gym's latest checkpoint, checks that it extends
// the one kept, and that every kept receipt's items are in it. A gym
// that rewrote its log gives an error wrapping ErrLogRewritten, and the
// evidence is kept (LogStatus); the outbox then sends it nothing more.
func (c *Contributor) VerifyLog(ctx context.Context, g GymInfo) (VerifyReport, error) {
	rep := VerifyReport{Gym: g.ID}
	if st, ok, err := c.LogStatus(ctx, g); err != nil || st.Problem != "" {
		if err != nil {
			return rep, err
		}
		return rep, fmt.Errorf("%w: %s", ErrLogRewritten, st.Problem)
	} else if ok {
		rep.Previous = st.Size
	}
	t, err := transportFor(g.Address)
	if err != nil {
		return rep, err
	}
	resp, err := t.do(ctx, request{Op: "checkpoint"})
	if err != nil {
		return rep, err
	}
	latest, err := OpenCheckpoint(g.Manifest, resp.Data)
	if err != nil {
		return rep, fmt.Errorf("gym %s's checkpoint: %w", g.Manifest.Name, err)
	}
	tiles := newRemoteTiles(ctx, t)
	if err := c.advanceLog(ctx, g, tiles, latest, true); err != nil {
		return rep, err
	}
	rep.Size, rep.Root = latest.N, latest.Hash.String()
	recs, err := c.Receipts(ctx, g)
	if err != nil {
		return rep, err
	}
	for _, r := range recs {
		n, err := c.checkReceiptLog(ctx, g, tiles, r.Receipt, &latest)
		if err != nil {
			return rep, err
		}
		if n > 0 {
			rep.Receipts++
			rep.Items += n
		}
	}
	return rep, nil
}

// checkReceiptLog checks a receipt's inclusion proofs against its
// checkpoint, and that checkpoint against the log: within the latest
// tree when given, else by advancing the kept checkpoint to it. It
// returns how many items it proved.
func (c *Contributor) checkReceiptLog(ctx context.Context, g GymInfo, tiles *remoteTiles, r Receipt, latest *Checkpoint) (int, error) {
	if r.Checkpoint == "" {
		return 0, nil // a gym from before the log
	}
	cp, err := OpenCheckpoint(g.Manifest, []byte(r.Checkpoint))
	if err != nil {
		return 0, c.logBroken(ctx, g, fmt.Sprintf("its signed receipt for %s carries a checkpoint that does not verify (%v)", r.For, err), []byte(r.Checkpoint))
	}
	n := 0
	for _, it := range r.Items {
		if it.LogIndex == nil {
			continue
		}
		if err := VerifyInclusion(cp.Tree, *it.LogIndex, it.Hash, it.Proof); err != nil {
			return n, c.logBroken(ctx, g, fmt.Sprintf("its signed receipt for %s says item %.16s… is leaf %d, and the proof does not verify (%v)", r.For, it.Hash, *it.LogIndex, err), []byte(r.Checkpoint))
		}
		n++
	}
	if latest == nil {
		return n, c.advanceLog(ctx, g, tiles, cp, false)
	}
	bad, err := consistent(tiles, latest.Tree, cp.Tree)
	if bad {
		return n, c.logBroken(ctx, g, fmt.Sprintf("the items of its receipt for %s (log size %d) are not in the log it serves now (size %d): it dropped or changed them", r.For, cp.N, latest.N), evidence(cp.Note, latest.Note))
	}
	return n, err
}

// advanceLog checks a checkpoint the gym signed against the one kept and
// keeps it when it is newer. latest says it is what the gym serves as
// its current state, so a smaller one means the log shrank.
func (c *Contributor) advanceLog(ctx context.Context, g GymInfo, tiles *remoteTiles, cp Checkpoint, latest bool) error {
	st, ok, err := c.LogStatus(ctx, g)
	if err != nil {
		return err
	}
	if st.Problem != "" {
		return fmt.Errorf("%w: %s", ErrLogRewritten, st.Problem)
	}
	if ok {
		kept, err := OpenCheckpoint(g.Manifest, []byte(st.Checkpoint))
		if err != nil {
			return err
		}
		switch {
		case cp.N < kept.N && latest:
			return c.logBroken(ctx, g, fmt.Sprintf("its log shrank from %d items (a checkpoint it signed before) to %d", kept.N, cp.N), evidence(kept.Note, cp.Note))
		case cp.N <= kept.N:
			bad, err := consistent(tiles, kept.Tree, cp.Tree)
			if bad {
				return c.logBroken(ctx, g, fmt.Sprintf("it signed two different logs: one of %d items that is not the start of one of %d", cp.N, kept.N), evidence(kept.Note, cp.Note))
			}
			return err
		}
		bad, err := consistent(tiles, cp.Tree, kept.Tree)
		if bad {
			return c.logBroken(ctx, g, fmt.Sprintf("the log of %d items it signs now does not begin with the log of %d items it signed before: it dropped or changed history", cp.N, kept.N), evidence(kept.Note, cp.Note))
		}
		if err != nil {
			return err
		}
	}
	_, err = c.db.ExecContext(ctx, `INSERT INTO gym_logs (gym, size, note, checked) VALUES (?, ?, ?, ?)
		ON CONFLICT (gym) DO UPDATE SET size = excluded.size, note = excluded.note, checked = excluded.checked`, g.ID, cp.N, cp.Note, c.now().UnixMilli())
	return err
}

// logBroken keeps the evidence that a gym broke its log and returns the
// error that says so.
func (c *Contributor) logBroken(ctx context.Context, g GymInfo, what string, evidence []byte) error {
	problem := fmt.Sprintf("gym %s (%s) rewrote its log: %s. Nothing more is sent to it; keep the evidence (`cairn gym verify %s --json`)", g.Manifest.Name, g.ID, what, g.ID)
	_, err := c.db.ExecContext(ctx, `INSERT INTO gym_logs (gym, size, note, checked, problem, evidence) VALUES (?, 0, ?, ?, ?, ?)
		ON CONFLICT (gym) DO UPDATE SET problem = excluded.problem, evidence = excluded.evidence, checked = excluded.checked`,
		g.ID, evidence, c.now().UnixMilli(), problem, evidence)
	if err != nil {
		return fmt.Errorf("keep the evidence against gym %s: %w", g.ID, err)
	}
	c.log.Warn("a gym rewrote its transparency log", "gym", g.ID)
	return fmt.Errorf("%w: %s", ErrLogRewritten, problem)
}

func evidence(notes ...[]byte) []byte {
	var b []byte
	for _, n := range notes {
		b = append(append(b, n...), '\n')
	}
	return b
}

// consistent checks that small is the start of big, from tiles the gym
// serves (checked against big's root). bad means the proof failed: the
// two signed trees cannot both be honest; an error alone means the
// tiles could not be had.
func consistent(tiles *remoteTiles, big, small tlog.Tree) (bad bool, err error) {
	if small.N == 0 {
		return false, nil
	}
	if small.N == big.N {
		return small.Hash != big.Hash, nil
	}
	proof, err := tlog.ProveTree(big.N, small.N, tlog.TileHashReader(big, tiles))
	if err != nil {
		return false, fmt.Errorf("read the gym's log tiles: %w", err)
	}
	if err := tlog.CheckTree(proof, big.N, big.Hash, small.N, small.Hash); err != nil {
		return true, nil
	}
	return false, nil
}

// remoteTiles reads a gym's tiles over its transport (tlog.TileReader),
// keeping those that checked out for the next proof.
type remoteTiles struct {
	ctx   context.Context
	t     transport
	saved map[tlog.Tile][]byte
}

func newRemoteTiles(ctx context.Context, t transport) *remoteTiles {
	return &remoteTiles{ctx: ctx, t: t, saved: map[tlog.Tile][]byte{}}
}

func (r *remoteTiles) Height() int { return LogTileHeight }

func (r *remoteTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		if b, ok := r.saved[tile]; ok {
			out[i] = b
			continue
		}
		resp, err := r.t.do(r.ctx, request{Op: "tile", Path: tile.Path()})
		if err != nil {
			return nil, err
		}
		if resp.Refused != "" {
			return nil, fmt.Errorf("tile %s: %s", tile.Path(), resp.Reason)
		}
		out[i] = resp.Data
	}
	return out, nil
}

func (r *remoteTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, tile := range tiles {
		r.saved[tile] = data[i]
	}
}
