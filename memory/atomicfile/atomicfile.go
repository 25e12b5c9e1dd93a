// Package atomicfile replaces a file in one step, so that a reader or a
// crash finds the old file or the new one, never part of one: the new
// content goes to a temporary file of a unique name beside the target, is
// synced to disk, renamed over the target, and the folder is synced so the
// rename itself survives a power cut. It lives under memory, the package
// that imports no other, so that every package of Cairn can use it.
package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data. The file gets mode perm exactly, whatever
// the umask.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom replaces path with what fill writes, for content that streams
// (an export, a dataset). When fill fails, path is left as it was and the
// temporary file is removed.
func WriteFrom(path string, perm os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	closed = true
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a folder for
// syncing, and its rename is durable through the journal of NTFS.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, os.ErrInvalid) {
		return nil // a file system that cannot sync folders
	}
	return err
}
