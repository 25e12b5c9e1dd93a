package importers

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/cairnlabs/cairn/memory/portable"
)

// ZipLimits bound what is read from a zip archive.
type ZipLimits struct {
	// MaxEntries is the most entries an archive may list (default 100,000).
	MaxEntries int
	// MaxEntry is the most bytes one entry may inflate to (default 2 GiB).
	MaxEntry int64
	// MaxTotal is the most bytes all the JSON entries read may inflate to
	// (default 8 GiB).
	MaxTotal int64
	// MaxRatio is the most an entry may inflate relative to its compressed
	// size (default 200; JSON compresses about 10 to 1).
	MaxRatio int64
}

// DefaultZipLimits are used unless told otherwise.
var DefaultZipLimits = ZipLimits{MaxEntries: 100_000, MaxEntry: 2 << 30, MaxTotal: 8 << 30, MaxRatio: 200}

func (l ZipLimits) orDefault() ZipLimits {
	d := DefaultZipLimits
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	if l.MaxEntry > 0 {
		d.MaxEntry = l.MaxEntry
	}
	if l.MaxTotal > 0 {
		d.MaxTotal = l.MaxTotal
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	return d
}

// safeZip is an archive whose entry list passed the checks.
type safeZip struct {
	r     *zip.Reader
	l     ZipLimits
	total int64
}

func openZip(ra io.ReaderAt, size int64, l ZipLimits) (*safeZip, error) {
	l = l.orDefault()
	r, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("read the zip archive: %w", err)
	}
	if len(r.File) > l.MaxEntries {
		return nil, fmt.Errorf("%w: the zip lists %d entries, more than the %d accepted", portable.ErrTooLarge, len(r.File), l.MaxEntries)
	}
	for _, f := range r.File {
		if err := checkEntryName(f.Name); err != nil {
			return nil, err
		}
	}
	return &safeZip{r: r, l: l}, nil
}

// checkEntryName refuses paths that climb out of the archive or are
// absolute, though nothing is ever written to disk from a zip: an archive
// with such names was made to attack an extractor.
func checkEntryName(name string) error {
	clean := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if strings.HasPrefix(clean, "../") || clean == ".." || strings.HasPrefix(clean, "/") || strings.Contains(name, "\x00") || (len(clean) > 1 && clean[1] == ':') {
		return fmt.Errorf("the zip has an entry named %.80q, a path outside the archive: refused (this is how zip attacks start; export again from the original service)", name)
	}
	return nil
}

// open opens an entry for reading, inflating at most the limits allow: a
// declared size over the limit is refused before reading, and a reader that
// inflates past its declared size (a lying header) fails when it does.
func (z *safeZip) open(f *zip.File) (io.ReadCloser, error) {
	if f.Mode()&fs.ModeSymlink != 0 {
		// Its content is a path; an export holds plain files.
		return nil, fmt.Errorf("zip entry %.80q is a symbolic link, not a file: refused (export again from the original service)", f.Name)
	}
	size := int64(f.UncompressedSize64)
	if f.UncompressedSize64 > uint64(z.l.MaxEntry) || size < 0 {
		return nil, fmt.Errorf("%w: zip entry %s inflates to %d bytes, over the %d MiB limit", portable.ErrTooLarge, f.Name, f.UncompressedSize64, z.l.MaxEntry>>20)
	}
	if comp := int64(f.CompressedSize64); size > 1<<20 && (comp == 0 || size/max(comp, 1) > z.l.MaxRatio) {
		return nil, fmt.Errorf("%w: zip entry %s inflates %d times its size: a zip bomb, refused", portable.ErrTooLarge, f.Name, size/max(comp, 1))
	}
	if z.total+size > z.l.MaxTotal {
		return nil, fmt.Errorf("%w: the zip's entries inflate to more than %d MiB in all", portable.ErrTooLarge, z.l.MaxTotal>>20)
	}
	z.total += size
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	return &limitedEntry{rc: rc, left: size, name: f.Name}, nil
}

type limitedEntry struct {
	rc   io.ReadCloser
	left int64
	name string
}

func (e *limitedEntry) Read(p []byte) (int, error) {
	if e.left <= 0 {
		// Anything past the declared size is an attack or damage.
		var one [1]byte
		if n, err := e.rc.Read(one[:]); n > 0 || errors.Is(err, zip.ErrFormat) {
			return 0, fmt.Errorf("%w: zip entry %s inflates past its declared size", portable.ErrTooLarge, e.name)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.rc.Read(p)
	e.left -= int64(n)
	if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
		err = fmt.Errorf("zip entry %s is damaged: %w", e.name, err)
	}
	return n, err
}

func (e *limitedEntry) Close() error { return e.rc.Close() }
