// Package sync keeps a person's vault in step across their own devices,
// peer to peer over libp2p: pairing by a one-time code, replication of
// sealed records (merged with memory.Vault.Apply), and a backup node that
// stores and forwards records without the vault key.
//
// Not built yet: the foundation (package memory and the CLI) comes first.
package sync
