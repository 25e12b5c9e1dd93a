package importers

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"strings"
	"testing"
)

// TestZipSymlinkEntryIsNamedAsSuch: an entry that is a symbolic link is
// refused with an error that says so, not read as the file it names.
func TestZipSymlinkEntryIsNamedAsSuch(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "conversations.json", Method: zip.Store}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("/etc/passwd"))
	zw.Close()
	z, err := openZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ZipLimits{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = z.open(z.r.File[0])
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "conversations.json") {
		t.Fatalf("opening a symlink entry: %v; want an error naming it a symbolic link", err)
	}
}
