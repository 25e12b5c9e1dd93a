package portable

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cairnlabs/cairn/memory/atomicfile"
)

// FileJournal keeps an import's progress in a small file, written
// atomically (temp file, fsync, rename) after each committed batch.
type FileJournal struct {
	path string
	done int
}

type journalFile struct {
	Entries int `json:"entries"`
}

// OpenJournal opens (or starts) the journal, in dir, of an import of the
// file at input: one per input, keyed by a hash of the input's bytes and
// its format, so that a changed file starts afresh.
func OpenJournal(dir, input, format string) (*FileJournal, error) {
	key, err := inputKey(input, format)
	if err != nil {
		return nil, err
	}
	j := &FileJournal{path: filepath.Join(dir, key+".json")}
	raw, err := os.ReadFile(j.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return j, nil
	case err != nil:
		return nil, fmt.Errorf("read import progress: %w", err)
	}
	var f journalFile
	if json.Unmarshal(raw, &f) == nil && f.Entries > 0 {
		j.done = f.Entries
	}
	return j, nil
}

func inputKey(path, format string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	io.WriteString(h, format+"\x00")
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// Done is how many entries an earlier run committed.
func (j *FileJournal) Done() int { return j.done }

// Save records that the first entries are committed.
func (j *FileJournal) Save(entries int) error {
	if err := os.MkdirAll(filepath.Dir(j.path), 0o700); err != nil {
		return err
	}
	raw, _ := json.Marshal(journalFile{Entries: entries})
	if err := atomicfile.Write(j.path, raw, 0o600); err != nil {
		return err
	}
	j.done = entries
	return nil
}

// Clear removes the journal of a finished import.
func (j *FileJournal) Clear() error {
	err := os.Remove(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
