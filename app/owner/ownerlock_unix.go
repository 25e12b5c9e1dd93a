//go:build !windows

package owner

import (
	"os"
	"syscall"
)

// tryLockFile takes an exclusive lock on f without waiting; it fails when
// another process holds one. The kernel drops the lock when the holder
// exits, however it exits (kill -9 included).
func tryLockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// unlockFile releases a lock taken by tryLockFile.
func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
