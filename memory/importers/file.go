package importers

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/cairnlabs/cairn/memory/portable"
)

// FileOptions say how ImportFile reads and merges a file.
type FileOptions struct {
	Options
	Import portable.Options
	// JournalDir keeps the progress of imports stopped part way, so that
	// running the same import again resumes (the home's imports/ folder).
	// Empty: no resuming.
	JournalDir string
	// Observe, when set, sees every entry the input yields, those a resumed
	// run skips included (the CLI collects the user messages to extract
	// memories from).
	Observe func(portable.Entry)
}

// ImportFile imports the file at path into the vault: detects the format
// (unless given), resumes a stopped run of the same file, and reports
// progress in bytes read.
func ImportFile(ctx context.Context, v portable.Applier, path string, o FileOptions) (portable.Summary, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return portable.Summary{}, "", err
	}
	if st.IsDir() {
		return portable.Summary{}, "", fmt.Errorf("%s is a folder: import reads a file (a bundle, JSONL, a zip or a JSON export)", path)
	}
	var read atomic.Int64
	o.Options.read = &read
	src, format, err := Open(path, o.Options)
	if err != nil {
		return portable.Summary{}, format, err
	}
	total := st.Size()
	if format == FormatBundle {
		total *= 2 // verified first, then read again
	}
	if o.JournalDir != "" && !o.Import.DryRun {
		j, err := portable.OpenJournal(o.JournalDir, path, format)
		if err != nil {
			return portable.Summary{}, format, err
		}
		o.Import.Journal = j
	}
	if progress := o.Import.Progress; progress != nil {
		o.Import.Progress = func(p portable.Progress) {
			p.Bytes, p.TotalBytes = min(read.Load(), total), total
			progress(p)
		}
	}
	if observe := o.Observe; observe != nil {
		inner := src
		src = portable.SourceFunc(func(ctx context.Context, emit func(portable.Entry) error) error {
			return inner.Walk(ctx, func(e portable.Entry) error {
				observe(e)
				return emit(e)
			})
		})
	}
	sum, err := portable.Import(ctx, v, src, o.Import)
	return sum, format, err
}

// countingFile counts the bytes read from a file, for progress.
type countingFile struct {
	*os.File
	n *atomic.Int64
}

func (c countingFile) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.File.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// openCounted opens a file whose reads count into n (when n is set).
func openCounted(path string, n *atomic.Int64) (interface {
	io.ReadCloser
	io.ReaderAt
	io.Seeker
	Stat() (os.FileInfo, error)
}, error) {
	f, err := os.Open(path)
	if err != nil || n == nil {
		return f, err
	}
	return countingFile{File: f, n: n}, nil
}
