package gym

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// gym.db holds per-gym keys: it opens with the vault's connection policy,
// secure_delete included, so a deleted key's bytes are zeroed on disk.
func TestGymDatabasesZeroWhatTheyDelete(t *testing.T) {
	ctx := context.Background()
	c, err := OpenContributor(ctx, ContributorConfig{Path: filepath.Join(t.TempDir(), "gym.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := OpenNode(ctx, NodeConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for name, db := range map[string]*sql.DB{"contributor": c.db, "node": n.db} {
		var secureDelete, synchronous int
		if err := db.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secureDelete); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&synchronous); err != nil {
			t.Fatal(err)
		}
		if secureDelete != 1 || synchronous != 2 {
			t.Errorf("%s gym.db: secure_delete=%d synchronous=%d, want 1 and 2 (FULL)", name, secureDelete, synchronous)
		}
	}
}
