// Package memory is Cairn's encrypted vault: a SQLite file in which every
// record (memories, conversations and their messages) is sealed on its own
// under a key that only the person's passphrase (or recovery key) unwraps,
// with keyword search over blind indexes and vector search over sealed
// embeddings of memories held in memory while unlocked.
//
// It also owns the one function that merges a record that came from
// elsewhere (sync, import): Vault.Apply. memory imports no other package of
// this project; agent, sync, gym and app use it.
package memory
