package memory

import (
	"context"
	"fmt"
	"strings"
)

// MinIDPrefix is the shortest id prefix ResolveID takes: shorter ones
// match too much to be worth the lookup.
const MinIDPrefix = 4

// ResolveID turns a unique prefix of a live record's id into the whole id,
// as git does with commit hashes: "0193a7" for a conversation, say. A
// whole id comes back as it is, even if no record has it (the caller's
// lookup then says what is missing). Ids are not secret (the records
// table holds them in clear), so no unlock is needed.
func (v *Vault) ResolveID(ctx context.Context, kind Kind, prefix string) (string, error) {
	prefix = strings.TrimSpace(prefix)
	if len(prefix) == 36 || !idPattern.MatchString(prefix) {
		return prefix, nil
	}
	if len(prefix) < MinIDPrefix {
		return "", invalidf("%q is too short to pick a %s: give at least %d characters of its id", prefix, kind, MinIDPrefix)
	}
	// A range scan on the unique index; LIKE would need escaping of _.
	rows, err := v.db.QueryContext(ctx, "SELECT id FROM records WHERE id >= ? AND id < ? AND kind = ? AND deleted = 0 ORDER BY id LIMIT 3", prefix, prefix+"\U0010FFFF", string(kind))
	if err != nil {
		return "", fmt.Errorf("look up %s %s: %w", kind, prefix, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: no %s has an id starting with %q", ErrNotFound, kind, prefix)
	case 1:
		return ids[0], nil
	}
	return "", invalidf("%q starts the ids of several %ss (%s, %s%s): give more of it", prefix, kind, ShortID(ids[0]), ShortID(ids[1]), map[bool]string{true: ", …", false: ""}[len(ids) > 2])
}

// ShortID is how human output shows an id: its first 18 characters (a
// UUIDv7's millisecond and 12 random bits, unique in practice), which
// ResolveID takes back.
func ShortID(id string) string {
	if len(id) <= 18 {
		return id
	}
	return id[:18]
}
