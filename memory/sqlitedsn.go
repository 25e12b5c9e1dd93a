package memory

import (
	"net/url"
	"path/filepath"
	"strings"
)

// sqliteOptions is the one connection policy of every SQLite database Cairn
// keeps (the vault, a backup node's records, gym.db with its per-gym keys):
// write-ahead log; a busy timeout long enough for a loaded machine;
// secure_delete, so freed pages are zeroed (forget means forgotten, and a
// revoked key leaves no copy); immediate transactions, so writers queue
// instead of failing to upgrade a lock; foreign keys; and a full sync at
// each commit; and a prepared-statement cache per connection, since the
// apply and search paths run the same few statements many times
// (preparing them again for every record was a fifth of the CPU time of
// applying one).
const sqliteOptions = "_journal_mode=WAL&_busy_timeout=15000&_secure_delete=on&_txlock=immediate&_foreign_keys=on&_synchronous=FULL&_stmt_cache_size=64"

// SQLiteDSN is the connection string for the SQLite database at path,
// with Cairn's connection policy, for mattn/go-sqlite3.
func SQLiteDSN(path string) string {
	u := url.URL{Scheme: "file", Path: uriPath(path), RawQuery: sqliteOptions}
	return u.String()
}

// uriPath is path as the path of a file: URI. SQLite wants forward
// slashes there, and a Windows drive letter after a slash
// (file:///C:/Users/...); a path written with backslashes would otherwise
// be read as an authority ("invalid uri authority") or a file name with
// backslashes in it.
func uriPath(path string) string {
	vol := filepath.VolumeName(path)
	p := filepath.ToSlash(path)
	if vol != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}
