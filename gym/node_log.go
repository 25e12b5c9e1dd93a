package gym

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// proveReceipt signs the checkpoint of the log as it stands in the
// transaction and adds to each logged item of the receipt its inclusion
// proof in that tree.
func (n *Node) proveReceipt(log logStore, rec *Receipt) ([]byte, tlog.Tree, error) {
	tree, err := log.tree()
	if err != nil {
		return nil, tree, err
	}
	cp, err := signCheckpoint(n.logSigner, tree)
	if err != nil {
		return nil, tree, err
	}
	for i := range rec.Items {
		it := &rec.Items[i]
		if it.LogIndex == nil {
			continue
		}
		if it.Proof, err = tlog.ProveRecord(tree.N, *it.LogIndex, log); err != nil {
			return nil, tree, fmt.Errorf("prove leaf %d in a log of %d: %w", *it.LogIndex, tree.N, err)
		}
	}
	rec.Checkpoint = string(cp)
	return cp, tree, nil
}

// publishCheckpoint signs the log's committed state and serves it.
func (n *Node) publishCheckpoint(ctx context.Context) error {
	tree, err := logStore{ctx, n.db}.tree()
	if err != nil {
		return err
	}
	cp, err := signCheckpoint(n.logSigner, tree)
	if err != nil {
		return err
	}
	n.setCheckpoint(cp, tree)
	return nil
}

func (n *Node) setCheckpoint(cp []byte, tree tlog.Tree) {
	n.cp.Lock()
	defer n.cp.Unlock()
	if cp != nil && tree.N >= n.cp.tree.N {
		n.cp.note, n.cp.tree = cp, tree
	}
}

// Checkpoint is the latest signed checkpoint of the gym's log.
func (n *Node) Checkpoint() []byte {
	n.cp.RLock()
	defer n.cp.RUnlock()
	return n.cp.note
}

// Tile serves a tile of the log by its path ("tile/8/0/x001/002.p/5",
// as golang.org/x/mod/sumdb/tlog names them), within the latest
// checkpoint's tree.
func (n *Node) Tile(ctx context.Context, path string) ([]byte, error) {
	t, err := tlog.ParseTilePath(path)
	if err != nil {
		return nil, fmt.Errorf("tile path %q: %w", path, err)
	}
	if t.H != LogTileHeight {
		return nil, fmt.Errorf("tile path %q: this log's tiles have height %d", path, LogTileHeight)
	}
	n.cp.RLock()
	size := n.cp.tree.N
	n.cp.RUnlock()
	return logStore{ctx, n.db}.tile(t, size)
}
