package importers

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory/portable"
)

// Formats import reads.
const (
	FormatBundle    = "bundle"
	FormatJSONL     = "jsonl"
	FormatChatGPT   = "chatgpt"
	FormatClaude    = "claude"
	FormatOpenWebUI = "openwebui"
)

// Formats lists them, for help and errors.
var Formats = []string{FormatBundle, FormatJSONL, FormatChatGPT, FormatClaude, FormatOpenWebUI}

// ErrUnknownFormat means the file is none of the formats import reads.
var ErrUnknownFormat = errors.New("not a file cairn can import: expected a Cairn bundle (.cairn), Cairn JSONL or a memories file, a ChatGPT or Claude export (zip or conversations.json) or an Open WebUI chat export")

// Options say how to open an input.
type Options struct {
	// Format is one of Formats, or "" to detect it.
	Format string
	// Identities open a bundle (a passphrase or age keys).
	Identities []age.Identity
	Limits     portable.Limits
	Zip        ZipLimits

	read *atomic.Int64 // counts bytes read, for progress (ImportFile)
}

const sniffSize = 1 << 20

// Detect says which format the file at path is in.
func Detect(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case portable.IsBundle(head):
		return FormatBundle, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		z, err := openZip(f, st.Size(), ZipLimits{})
		if err != nil {
			return "", err
		}
		files := jsonEntries(z.r)
		if len(files) == 0 {
			return "", fmt.Errorf("%w (the zip has no conversations.json)", ErrUnknownFormat)
		}
		rc, err := z.open(files[0])
		if err != nil {
			return "", err
		}
		defer rc.Close()
		zhead := make([]byte, sniffSize)
		n, _ := io.ReadFull(rc, zhead)
		return sniffJSON(zhead[:n])
	}
	return sniffJSON(head)
}

func sniffJSON(head []byte) (string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF")), " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%w (the file is empty)", ErrUnknownFormat)
	}
	switch {
	case bytes.Contains(trimmed, []byte(`"chat_messages"`)):
		return FormatClaude, nil
	case bytes.Contains(trimmed, []byte(`"mapping"`)):
		return FormatChatGPT, nil
	case trimmed[0] == '[' && bytes.Contains(trimmed, []byte(`"history"`)) && bytes.Contains(trimmed, []byte(`"chat"`)):
		return FormatOpenWebUI, nil
	case trimmed[0] == '{':
		return FormatJSONL, nil
	}
	return "", ErrUnknownFormat
}

// jsonEntries are the conversation files of an export, in name order:
// conversations.json, or the conversations-NNN.json files of newer
// ChatGPT exports (in any folder, Projects' included).
func jsonEntries(r *zip.Reader) []*zip.File {
	var out []*zip.File
	for _, f := range r.File {
		base := path.Base(f.Name)
		if strings.HasPrefix(base, "conversations") && strings.HasSuffix(base, ".json") && !f.FileInfo().IsDir() {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type reader func(ctx context.Context, r io.Reader, l portable.Limits, emit func(portable.Entry) error) error

var readers = map[string]reader{FormatChatGPT: chatGPTConversations, FormatClaude: claudeConversations, FormatOpenWebUI: openWebUIChats}

// Open returns the source that reads the file at path, in the format
// given or detected, and the format.
func Open(path string, o Options) (portable.Source, string, error) {
	format := o.Format
	if format == "" {
		var err error
		if format, err = Detect(path); err != nil {
			return nil, "", err
		}
	}
	openFile := func() (io.ReadCloser, error) { return openCounted(path, o.read) }
	switch format {
	case FormatBundle:
		if len(o.Identities) == 0 {
			return nil, format, errors.New("a bundle needs its passphrase or key to open")
		}
		return portable.BundleSource(openFile, o.Identities, o.Limits), format, nil
	case FormatJSONL:
		return portable.SourceFunc(func(ctx context.Context, emit func(portable.Entry) error) error {
			f, err := openFile()
			if err != nil {
				return err
			}
			defer f.Close()
			return portable.JSONLSource(f, o.Limits).Walk(ctx, emit)
		}), format, nil
	}
	read, ok := readers[format]
	if !ok {
		return nil, "", fmt.Errorf("unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
	}
	return portable.SourceFunc(func(ctx context.Context, emit func(portable.Entry) error) error {
		f, err := openCounted(path, o.read)
		if err != nil {
			return err
		}
		defer f.Close()
		var magic [4]byte
		if n, _ := io.ReadFull(f, magic[:]); n < 4 || string(magic[:]) != "PK\x03\x04" {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			return read(ctx, f, o.Limits, emit)
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		z, err := openZip(f, st.Size(), o.Zip)
		if err != nil {
			return err
		}
		files := jsonEntries(z.r)
		if len(files) == 0 {
			return fmt.Errorf("the zip holds no conversations.json: is it a %s export?", format)
		}
		for _, zf := range files {
			rc, err := z.open(zf)
			if err != nil {
				return err
			}
			err = read(ctx, rc, o.Limits, emit)
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", zf.Name, err)
			}
		}
		return nil
	}), format, nil
}
