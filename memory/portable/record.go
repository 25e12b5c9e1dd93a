package portable

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairnlabs/cairn/memory"
)

// JSONLVersion is the version of the JSONL format (FORMATS.md), written in
// its first line.
const JSONLVersion = 1

// Header is the first line of a Cairn JSONL file.
type Header struct {
	Format  string `json:"cairn"`
	Version int    `json:"version"`
}

func jsonlHeader() Header { return Header{Format: "jsonl", Version: JSONLVersion} }

// line is one line of Cairn JSONL: a record with its payload in the clear,
// or (when import reads it) a plain memory: {"text": …, "kind": "fact",
// "tags": […], "created_at": …}.
type line struct {
	ID      string          `json:"id,omitempty"`
	Kind    string          `json:"kind,omitempty"`
	Schema  uint16          `json:"schema,omitempty"`
	Clock   string          `json:"clock,omitempty"`
	Origin  string          `json:"origin,omitempty"`
	Deleted bool            `json:"deleted,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// encodeLine writes a record as one JSONL line (with its newline). The
// clock is a decimal string: it is over 2^53 and would lose digits as a
// JavaScript number.
func encodeLine(buf *bytes.Buffer, r *memory.PlainRecord) error {
	l := line{ID: r.ID, Kind: string(r.Kind), Schema: r.Schema, Clock: strconv.FormatUint(uint64(r.Clock), 10), Origin: r.Origin, Deleted: r.Deleted}
	if !r.Deleted {
		if !json.Valid(r.Payload) {
			return fmt.Errorf("record %s: its payload is not JSON, which this format cannot carry", r.ID)
		}
		l.Payload = r.Payload
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(&l)
}

// plainMemory is a line of a plain memories file.
type plainMemory struct {
	Text      *string  `json:"text"`
	Kind      string   `json:"kind"`
	Tags      []string `json:"tags"`
	Pinned    bool     `json:"pinned"`
	CreatedAt string   `json:"created_at"`
}

// anyLine is every field a line may carry, to tell the shapes apart.
type anyLine struct {
	line
	Format    string   `json:"cairn"`
	Version   int      `json:"version"`
	Text      *string  `json:"text"`
	Tags      []string `json:"tags"`
	Pinned    bool     `json:"pinned"`
	CreatedAt string   `json:"created_at"`
}

// decodeLine reads one line: a record, a plain memory (made into a record),
// or the header (nil record, nil error).
func decodeLine(raw []byte, now time.Time) (*memory.PlainRecord, error) {
	var l anyLine
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	switch {
	case l.Format != "":
		if l.Format != "jsonl" || l.Version < 1 {
			return nil, fmt.Errorf("header names format %q version %d, not Cairn JSONL", l.Format, l.Version)
		}
		if l.Version > JSONLVersion {
			return nil, fmt.Errorf("written by a newer Cairn (JSONL version %d; this build reads %d): update cairn", l.Version, JSONLVersion)
		}
		return nil, nil
	case l.Payload != nil || l.Deleted || l.Clock != "":
		return recordFromLine(&l.line)
	case l.Text != nil:
		return memoryFromPlain(plainMemory{Text: l.Text, Kind: l.Kind, Tags: l.Tags, Pinned: l.Pinned, CreatedAt: l.CreatedAt}, now)
	}
	return nil, fmt.Errorf("neither a record (id, kind, clock, payload) nor a memory (text)")
}

func recordFromLine(l *line) (*memory.PlainRecord, error) {
	clock, err := strconv.ParseUint(l.Clock, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("record %.70q: clock %.30q is not a decimal number", l.ID, l.Clock)
	}
	r := &memory.PlainRecord{ID: l.ID, Kind: memory.Kind(l.Kind), Schema: l.Schema, Clock: memory.Clock(clock), Origin: l.Origin, Deleted: l.Deleted}
	if !l.Deleted {
		r.Payload = slices.Clone([]byte(l.Payload))
	}
	return r, nil
}

// ImportOrigin is the origin device of records made by import from a
// source without versions of its own (plain memories, other assistants).
const ImportOrigin = "import"

// idSpace is the UUID namespace of ids that import derives, so the same
// item gets the same id every time it is imported.
var idSpace = uuid.MustParse("6b1c3f0e-4a52-4c1e-9a7d-0c41e1f3a8b2")

// DerivedID is a stable record id for an item of an outside source: a
// UUID (version 8) from SHA-256 of the parts.
func DerivedID(parts ...string) string {
	return uuid.NewHash(sha256.New(), idSpace, []byte(strings.Join(parts, "\x00")), 8).String()
}

// ClockAt is the clock of an imported version made at t.
func ClockAt(t time.Time) memory.Clock {
	ms := t.UnixMilli()
	if ms < 1 {
		ms = 1
	}
	return memory.Clock(uint64(ms) << 16)
}

type memoryPayload struct {
	Kind      memory.ItemKind `json:"kind"`
	Text      string          `json:"text"`
	Tags      []string        `json:"tags,omitempty"`
	Pinned    bool            `json:"pinned,omitempty"`
	Source    memory.Source   `json:"source,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// memorySchema is the memory payload schema that import writes.
const memorySchema = 2

func memoryFromPlain(m plainMemory, now time.Time) (*memory.PlainRecord, error) {
	text := strings.TrimSpace(*m.Text)
	if text == "" {
		return nil, fmt.Errorf("memory has no text")
	}
	kind := memory.ItemKind(m.Kind)
	if kind == "" {
		kind = memory.Fact
	}
	var tags []string
	for _, t := range m.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	newOnly := m.CreatedAt == ""
	created := now
	if !newOnly {
		t, err := time.Parse(time.RFC3339Nano, m.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("created_at %.40q is not an RFC 3339 time", m.CreatedAt)
		}
		created = t
	}
	created = created.UTC().Truncate(time.Millisecond)
	p := memoryPayload{Kind: kind, Text: text, Tags: tags, Pinned: m.Pinned, Source: memory.SourceImport, CreatedAt: created, UpdatedAt: created}
	raw, err := json.Marshal(&p)
	if err != nil {
		return nil, err
	}
	id := DerivedID("memory", string(kind), text, strings.Join(tags, ","), m.CreatedAt)
	return &memory.PlainRecord{ID: id, Kind: memory.KindMemory, Schema: memorySchema, Clock: ClockAt(created), Origin: ImportOrigin, Payload: raw, NewOnly: newOnly}, nil
}
