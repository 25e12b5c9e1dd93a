package sync

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/cairnlabs/cairn/memory"
)

// Frames on /cairn/sync/1.0.0, /cairn/pair/1.0.0 and /cairn/pair-code/1.0.0 are
//
//	length (uvarint, of type+body) | type (1 byte) | body
//
// A frame longer than maxFrame is refused before its body is read.
const (
	frameHello      = 1 // JSON hello
	frameBatch      = 2 // binary records (encodeBatch)
	frameAck        = 3 // uvarint: the sender's change number applied up to
	frameKeys       = 4 // JSON []KeyEnvelope
	frameMembership = 5 // JSON Membership
	framePair       = 6 // JSON pairing message
	frameError      = 7 // UTF-8 text: why the peer stops
	framePake       = 8 // a short code's SPAKE2 message (shortcode.go)
)

// maxFrame bounds one frame: a batch holds at most one record over
// maxBatchBytes, and a record is at most memory.MaxSealedSize sealed.
const (
	maxFrame      = memory.MaxSealedSize + 64<<10
	maxBatchBytes = 256 << 10
	maxJSONFrame  = 1 << 20
)

// ErrProtocol marks a peer that broke the protocol; it is disconnected.
var ErrProtocol = errors.New("peer broke the sync protocol")

func protocolf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

func writeFrame(w io.Writer, typ byte, body []byte) error {
	buf := make([]byte, 0, binary.MaxVarintLen64+1+len(body))
	buf = binary.AppendUvarint(buf, uint64(len(body)+1))
	buf = append(buf, typ)
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

func writeJSONFrame(w io.Writer, typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFrame(w, typ, b)
}

// readFrame reads one frame, refusing one over limit before reading it.
func readFrame(r *bufio.Reader, limit int) (byte, []byte, error) {
	n, err := binary.ReadUvarint(r)
	switch {
	case errors.Is(err, io.EOF):
		return 0, nil, io.EOF
	case err != nil && strings.Contains(err.Error(), "overflow"):
		return 0, nil, protocolf("frame length: %v", err)
	case err != nil:
		return 0, nil, err
	}
	if n == 0 || n > uint64(limit) {
		return 0, nil, protocolf("frame of %d bytes, over the %d-byte limit", n, limit)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, fmt.Errorf("read frame: %w", err)
	}
	return buf[0], buf[1:], nil
}

func readJSON(body []byte, v any) error {
	if len(body) > maxJSONFrame {
		return protocolf("JSON frame of %d bytes, over the %d-byte limit", len(body), maxJSONFrame)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return protocolf("malformed frame: %v", err)
	}
	return nil
}

// A batch body is
//
//	upto (uvarint) | count (uvarint) | count × record
//
// and a record is
//
//	flags (1: bit 0 tombstone) | id | kind | clock (8, big endian) | origin | sealed (uvarint length + bytes)
//
// where id, kind and origin are strings: a uvarint length and the bytes,
// or a zero length and 16 bytes for a canonical lowercase UUID, which is
// what ids and device ids usually are.
type batch struct {
	upto    int64
	records []memory.Record
}

func appendString(b []byte, s string) []byte {
	if len(s) == 36 {
		if u, err := uuid.Parse(s); err == nil && u.String() == s {
			b = append(b, 0)
			return append(b, u[:]...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeBatch(b batch) []byte {
	out := binary.AppendUvarint(nil, uint64(b.upto))
	out = binary.AppendUvarint(out, uint64(len(b.records)))
	for i := range b.records {
		out = appendRecord(out, &b.records[i])
	}
	return out
}

func appendRecord(out []byte, r *memory.Record) []byte {
	var flags byte
	if r.Deleted {
		flags |= 1
	}
	out = append(out, flags)
	out = appendString(out, r.ID)
	out = appendString(out, string(r.Kind))
	out = binary.BigEndian.AppendUint64(out, uint64(r.Clock))
	out = appendString(out, r.Origin)
	out = binary.AppendUvarint(out, uint64(len(r.Sealed)))
	return append(out, r.Sealed...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = protocolf("malformed batch: bad %s", what)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what)
	if d.err == nil && n == 0 {
		raw := d.bytes(16, what)
		if d.err != nil {
			return ""
		}
		return uuid.UUID(raw).String()
	}
	if n > 256 {
		d.fail(what)
	}
	return string(d.bytes(n, what))
}

func decodeBatch(body []byte) (batch, error) {
	d := &decoder{b: body}
	var b batch
	b.upto = int64(d.uvarint("change number"))
	n := d.uvarint("record count")
	if n > uint64(len(body)) {
		return b, protocolf("malformed batch: %d records in %d bytes", n, len(body))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		var r memory.Record
		flags := d.bytes(1, "flags")
		if d.err == nil {
			r.Deleted = flags[0]&1 != 0
		}
		r.ID = d.string("record id")
		r.Kind = memory.Kind(d.string("kind"))
		if c := d.bytes(8, "clock"); d.err == nil {
			r.Clock = memory.Clock(binary.BigEndian.Uint64(c))
		}
		r.Origin = d.string("origin")
		sn := d.uvarint("payload length")
		if sn > memory.MaxSealedSize {
			return b, protocolf("record of %d bytes, over the %d-byte limit", sn, memory.MaxSealedSize)
		}
		if sealed := d.bytes(sn, "payload"); sn > 0 {
			r.Sealed = append([]byte(nil), sealed...)
		}
		b.records = append(b.records, r)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return batch{}, d.err
	}
	for i := range b.records {
		if err := b.records[i].CheckEnvelope(); err != nil {
			return batch{}, protocolf("record %d of the batch: %v", i, err)
		}
	}
	return b, nil
}
