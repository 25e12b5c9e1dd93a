package importers

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory/portable"
)

// deflated is "[" and then spaces, n bytes in all, deflated: JSON that
// never ends, a thousand times smaller packed.
func deflated(t *testing.T, n int) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write([]byte("["))
	n--
	zero := bytes.Repeat([]byte(" "), 1<<20)
	for n > 0 {
		k := min(n, len(zero))
		fw.Write(zero[:k])
		n -= k
	}
	fw.Close()
	return buf.Bytes()
}

func rawZip(t *testing.T, name string, declared uint64, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, UncompressedSize64: declared, CompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	zw.Close()
	p := filepath.Join(t.TempDir(), "export.zip")
	os.WriteFile(p, buf.Bytes(), 0o600)
	return p
}

func openAndImport(t *testing.T, path string, o Options) error {
	t.Helper()
	if o.Format == "" {
		o.Format = FormatChatGPT
	}
	src, _, err := Open(path, o)
	if err != nil {
		return err
	}
	_, err = portable.Import(context.Background(), newVault(t), src, portable.Options{})
	return err
}

func TestHostileInputsRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	cases := []struct {
		name string
		path string
		o    Options
		want string
	}{
		// 10 GiB declared, from a few KiB: refused before inflating.
		{"zip bomb (declared)", rawZip(t, "conversations.json", 10<<30, deflated(t, 1<<20)), Options{}, "over the"},
		// A header that lies: 100 bytes declared, 64 MiB of zeros inside.
		{"zip bomb (lying header)", rawZip(t, "conversations.json", 100, deflated(t, 64<<20)), Options{}, "past its declared size"},
		{"zip slip", rawZip(t, "../../etc/conversations.json", 2, deflated(t, 2)), Options{}, "outside the archive"},
		{"absolute zip path", rawZip(t, "/tmp/conversations.json", 2, deflated(t, 2)), Options{}, "outside the archive"},
		{"deep nesting", write("deep.json", strings.Repeat("[", 100_000)), Options{}, "nested more than"},
		{"deep nesting inside a conversation", write("deep2.json", `[{"title":"x","mapping":`+strings.Repeat(`{"a":`, 5000)), Options{}, "nested more than"},
		{"absurd string", write("long.json", `[{"title":"`+strings.Repeat("a", 3<<20)+`"}]`), Options{Limits: portable.Limits{MaxString: 1 << 20}}, "string is over"},
		{"absurd JSONL line", write("long.jsonl", `{"text":"`+strings.Repeat("a", 3<<20)+`"}`), Options{Format: FormatJSONL, Limits: portable.Limits{MaxLine: 1 << 20}}, "line is over"},
		{"truncated JSON", write("trunc.json", `[{"title":"a","mapping":{`), Options{}, "ends early"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := openAndImport(t, c.path, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if strings.Contains(c.name, "bomb") || strings.Contains(c.name, "absurd") || strings.Contains(c.name, "nesting") {
				if !errors.Is(err, portable.ErrTooLarge) {
					t.Errorf("%v does not wrap ErrTooLarge", err)
				}
			}
		})
	}
}

func writeZipTo(buf *bytes.Buffer, name string, data []byte) {
	zw := zip.NewWriter(buf)
	w, _ := zw.Create(name)
	w.Write(data)
	zw.Close()
}

// Dates far in the future or before 1970 are treated as unknown: the
// conversation still comes in, dated by what else it has.
func TestBogusDates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "owui.json")
	os.WriteFile(p, []byte(`[{"id":"x","title":"dates","created_at":1715000000,"chat":{"history":{"messages":{
		"a":{"id":"a","role":"user","content":"from the far future","timestamp":99999999999999999},
		"b":{"id":"b","parentId":"a","role":"assistant","content":"from before 1970","timestamp":-5}}}}}]`), 0o600)
	v := newVault(t)
	src, _, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := portable.Import(context.Background(), v, src, portable.Options{})
	if err != nil || sum.ByKind["message"].New != 2 {
		t.Fatalf("%v %+v %+v", err, sum.ByKind, sum.Skipped)
	}
}
