// Package sync keeps a person's vault in step across their own devices,
// peer to peer over libp2p: pairing by a one-time code, a signed list of
// trusted devices, replication of sealed records (merged with the vault's
// one merge rule), key rotation when a device is removed, and a backup node
// that stores and forwards records without the vault key. Until a device is
// paired or sync is turned on, a Node opens no socket at all.
package sync
