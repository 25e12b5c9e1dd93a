package gym

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"

	"github.com/cairnlabs/cairn/memory"
)

// The gym's SQLite databases (the node's gym.db, the contributor's), opened
// with memory's connection policy.

// addColumn adds a column to a table made by an older version, once.
func addColumn(ctx context.Context, db *sql.DB, table, column, decl string) error {
	names, err := queryStrings(ctx, db, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return err
	}
	if slices.Contains(names, column) {
		return nil
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN "+column+" "+decl); err != nil {
		return fmt.Errorf("add %s.%s: %w", table, column, err)
	}
	return nil
}

func openSQLite(ctx context.Context, path, schema string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", memory.SQLiteDSN(path))
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	return db, nil
}

// queryStrings reads a query's one text column.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
