package portable

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
)

// BundleVersion is the version of the bundle format (FORMATS.md).
const BundleVersion = 1

// A bundle is an age file (age-encryption.org/v1) whose plaintext is
//
//	"cairn bundle\n" | frame* ;  frame = type (1 byte) | length (4, big endian) | body
//
// with a header frame 'H' first, record chunks 'R' (Cairn JSONL lines,
// without the JSONL header), and an end frame 'E' last, which counts the
// records and chunks and carries the SHA-256 of every chunk body in order.
const (
	bundleMagic  = "cairn bundle\n"
	frameHeader  = 'H'
	frameRecords = 'R'
	frameEnd     = 'E'
	maxFrame     = 64 << 20 // refused before it is read: a damaged or hostile length
	chunkRecords = 1000
	chunkBytes   = 4 << 20
	ageFileMagic = "age-encryption.org/v1"
)

var (
	// ErrBundleKey means the passphrase or key does not open the bundle.
	ErrBundleKey = errors.New("the passphrase or key does not open this bundle (or its header is damaged)")
	// ErrBundleDamaged means the bundle failed its integrity checks:
	// truncated or altered.
	ErrBundleDamaged = errors.New("the bundle is damaged: it failed its integrity check")
	// ErrNotBundle means the file opened (it is age-encrypted to this key)
	// but holds something other than a Cairn bundle.
	ErrNotBundle = errors.New("this age-encrypted file opens, but it is not a Cairn bundle (make one with `cairn export`)")
)

// BundleHeader is the header frame.
type BundleHeader struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Filter    *Filter   `json:"filter,omitempty"`
}

type bundleEnd struct {
	Records int    `json:"records"`
	Chunks  int    `json:"chunks"`
	SHA256  string `json:"sha256"`
}

// IsBundle reports whether the start of a file is an age file (which is
// what a bundle is on the outside).
func IsBundle(head []byte) bool { return bytes.HasPrefix(head, []byte(ageFileMagic)) }

// PassphraseRecipient encrypts a bundle to a passphrase (age scrypt).
// workFactor is log2 of scrypt's N; 0 means age's default (18, about a
// second).
func PassphraseRecipient(pass string, workFactor int) (age.Recipient, error) {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("bundle passphrase: %w", err)
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	return r, nil
}

// KeyRecipients parses age public keys (age1…), one a line or separated
// by commas.
func KeyRecipients(keys string) ([]age.Recipient, error) {
	rs, err := age.ParseRecipients(strings.NewReader(strings.ReplaceAll(keys, ",", "\n")))
	if err != nil {
		return nil, fmt.Errorf("recipient key: %w (expected an age public key, age1…)", err)
	}
	return rs, nil
}

// BundleWriter writes a bundle, a chunk at a time.
type BundleWriter struct {
	enc     io.WriteCloser
	out     *bufio.Writer
	chunk   bytes.Buffer
	inChunk int
	sum     hash.Hash
	end     bundleEnd
}

// NewBundleWriter starts a bundle encrypted to the recipients.
func NewBundleWriter(dst io.Writer, hdr BundleHeader, recipients ...age.Recipient) (*BundleWriter, error) {
	enc, err := age.Encrypt(dst, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypt bundle: %w", err)
	}
	bw := &BundleWriter{enc: enc, out: bufio.NewWriterSize(enc, 256<<10)}
	bw.sum = sha256.New()
	hdr.Version = BundleVersion
	raw, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	if _, err := bw.out.WriteString(bundleMagic); err != nil {
		return nil, err
	}
	if err := bw.frame(frameHeader, raw); err != nil {
		return nil, err
	}
	return bw, nil
}

func (bw *BundleWriter) frame(typ byte, body []byte) error {
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(len(body)))
	if _, err := bw.out.Write(h[:]); err != nil {
		return err
	}
	_, err := bw.out.Write(body)
	return err
}

// Write adds a record, closing the chunk when it is full.
func (bw *BundleWriter) Write(r *memory.PlainRecord) error {
	mark := bw.chunk.Len()
	if err := encodeLine(&bw.chunk, r); err != nil {
		return err
	}
	if bw.chunk.Len()-mark > maxFrame {
		return fmt.Errorf("record %s is too large for a bundle", r.ID)
	}
	if bw.chunk.Len() > maxFrame {
		// Too much for this chunk: close it without this line first.
		line := bytes.Clone(bw.chunk.Bytes()[mark:])
		bw.chunk.Truncate(mark)
		if err := bw.flushChunk(); err != nil {
			return err
		}
		bw.chunk.Write(line)
	}
	bw.inChunk++
	if bw.inChunk >= chunkRecords || bw.chunk.Len() >= chunkBytes {
		return bw.flushChunk()
	}
	return nil
}

func (bw *BundleWriter) flushChunk() error {
	if bw.chunk.Len() == 0 {
		return nil
	}
	body := bw.chunk.Bytes()
	bw.sum.Write(body)
	bw.end.Chunks++
	bw.end.Records += bytes.Count(body, []byte{'\n'})
	if err := bw.frame(frameRecords, body); err != nil {
		return err
	}
	bw.chunk.Reset()
	bw.inChunk = 0
	return nil
}

// Close writes the last chunk and the end frame and finishes the age
// stream. A bundle without its end frame is refused on import, so a
// bundle whose writing was interrupted cannot pass for a smaller one.
func (bw *BundleWriter) Close() error {
	if err := bw.flushChunk(); err != nil {
		return err
	}
	bw.end.SHA256 = hex.EncodeToString(bw.sum.Sum(nil))
	raw, _ := json.Marshal(bw.end)
	if err := bw.frame(frameEnd, raw); err != nil {
		return err
	}
	if err := bw.out.Flush(); err != nil {
		return err
	}
	return bw.enc.Close()
}

// BundleInfo is what reading a bundle found.
type BundleInfo struct {
	Header  BundleHeader
	Records int
	Chunks  int
}

// ReadBundle decrypts and checks a bundle, calling fn (when not nil) for
// each record of each chunk that age authenticated. Only the end frame
// proves the bundle whole: a caller that must not act on a damaged
// bundle reads it once with fn nil (VerifyBundle) and then again.
func ReadBundle(ctx context.Context, src io.Reader, ids []age.Identity, l Limits, fn func(*memory.PlainRecord) error) (BundleInfo, error) {
	var info BundleInfo
	pt, err := age.Decrypt(src, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return info, ErrBundleKey
		}
		return info, fmt.Errorf("%w: %v", ErrBundleDamaged, err)
	}
	br := bufio.NewReaderSize(pt, 256<<10)
	magic := make([]byte, len(bundleMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return info, damaged(err, "it ends before its header (truncated)")
	}
	if string(magic) != bundleMagic {
		return info, ErrNotBundle
	}
	h := sha256.New()
	var body []byte
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		typ, b, err := readFrame(br, body[:0])
		if err != nil {
			return info, err
		}
		body = b
		switch {
		case n == 0 && typ != frameHeader, n > 0 && typ == frameHeader:
			return info, fmt.Errorf("%w: frame %d is %q, out of order", ErrBundleDamaged, n, typ)
		case typ == frameHeader:
			if err := json.Unmarshal(body, &info.Header); err != nil {
				return info, fmt.Errorf("%w: header: %v", ErrBundleDamaged, err)
			}
			if info.Header.Version > BundleVersion {
				return info, fmt.Errorf("this bundle is format version %d, newer than this build reads (%d): update cairn", info.Header.Version, BundleVersion)
			}
		case typ == frameRecords:
			h.Write(body)
			info.Chunks++
			if err := readChunk(body, func(r *memory.PlainRecord) error {
				info.Records++
				if fn == nil {
					return nil
				}
				return fn(r)
			}); err != nil {
				return info, err
			}
		case typ == frameEnd:
			var end bundleEnd
			if err := json.Unmarshal(body, &end); err != nil {
				return info, fmt.Errorf("%w: end frame: %v", ErrBundleDamaged, err)
			}
			if end.Records != info.Records || end.Chunks != info.Chunks || end.SHA256 != hex.EncodeToString(h.Sum(nil)) {
				return info, fmt.Errorf("%w: it should hold %d records in %d chunks, and holds %d in %d", ErrBundleDamaged, end.Records, end.Chunks, info.Records, info.Chunks)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				if err == nil {
					return info, fmt.Errorf("%w: data after the end frame", ErrBundleDamaged)
				}
				return info, fmt.Errorf("%w: %v", ErrBundleDamaged, err)
			}
			return info, nil
		default:
			return info, fmt.Errorf("%w: unknown frame type %q", ErrBundleDamaged, typ)
		}
	}
}

func readFrame(br *bufio.Reader, buf []byte) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, damaged(err, "it ends before its end frame (truncated)")
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: a frame claims %d bytes, over the %d MiB limit", ErrBundleDamaged, n, maxFrame>>20)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, damaged(err, "it ends in the middle of a chunk (truncated)")
	}
	return h[0], buf, nil
}

// damaged explains a read error: age reports failed authentication and
// truncation as errors of its own.
func damaged(err error, eof string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s", ErrBundleDamaged, eof)
	}
	return fmt.Errorf("%w: %v", ErrBundleDamaged, err)
}

func readChunk(body []byte, fn func(*memory.PlainRecord) error) error {
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return fmt.Errorf("%w: a chunk ends in the middle of a record", ErrBundleDamaged)
		}
		raw := body[:i]
		body = body[i+1:]
		var ln line
		if err := json.Unmarshal(raw, &ln); err != nil || ln.Clock == "" {
			return fmt.Errorf("%w: a record line does not decode", ErrBundleDamaged)
		}
		r, err := recordFromLine(&ln)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBundleDamaged, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// BundleSource reads a bundle for import: it verifies the whole bundle
// first (decrypting it once, keeping nothing), and only then reads it
// again and yields its records, so a damaged bundle changes nothing.
// open returns the bundle from its start each time.
func BundleSource(open func() (io.ReadCloser, error), ids []age.Identity, l Limits) Source {
	return SourceFunc(func(ctx context.Context, emit func(Entry) error) error {
		pass := func(fn func(*memory.PlainRecord) error) error {
			f, err := open()
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = ReadBundle(ctx, f, ids, l, fn)
			return err
		}
		if err := pass(nil); err != nil {
			return err
		}
		return pass(func(r *memory.PlainRecord) error { return emit(Entry{Record: r}) })
	})
}

// PassphraseIdentity opens bundles encrypted to a passphrase.
func PassphraseIdentity(pass string) (age.Identity, error) {
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, fmt.Errorf("bundle passphrase: %w", err)
	}
	return id, nil
}

// KeyIdentities parses an age identity file (AGE-SECRET-KEY-1… lines).
func KeyIdentities(r io.Reader) ([]age.Identity, error) {
	ids, err := age.ParseIdentities(r)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w (expected age secret keys, AGE-SECRET-KEY-1…)", err)
	}
	return ids, nil
}
