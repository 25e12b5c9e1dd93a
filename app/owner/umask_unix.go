//go:build !windows

package owner

import "syscall"

// PrivateUmask makes every file and folder this process creates readable by
// its owner alone, whatever umask it was started with: SQLite's side files
// (vault.db-wal, gym.db-wal and -shm, which a crash leaves behind) and any
// file a library creates are then as private as the ones Cairn opens with
// mode 0600 itself.
func PrivateUmask() { syscall.Umask(0o077) }
