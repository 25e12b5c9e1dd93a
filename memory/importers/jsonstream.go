package importers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cairnlabs/cairn/memory/portable"
)

// eachElement calls fn for each element of the JSON array r holds, one at
// a time (a 2 GB conversations.json never sits in memory whole), under the
// nesting and string limits. An object instead of an array is taken as
// one element, or, when it has a "conversations" array, as that array.
func eachElement(r io.Reader, l portable.Limits, fn func(json.RawMessage) error) error {
	br := bufio.NewReaderSize(portable.GuardJSON(r, l), 64<<10)
	first, err := firstByte(br)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	switch first {
	case '[':
		if _, err := dec.Token(); err != nil {
			return jsonError(err)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return jsonError(err)
			}
			if err := fn(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return jsonError(err)
		}
		return nil
	case '{':
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(err)
		}
		var wrapper struct {
			Conversations json.RawMessage `json:"conversations"`
		}
		if json.Unmarshal(raw, &wrapper) == nil && len(wrapper.Conversations) > 0 && wrapper.Conversations[0] == '[' {
			return eachElement(bytes.NewReader(wrapper.Conversations), l, fn)
		}
		return fn(raw)
	}
	return fmt.Errorf("not JSON: it starts with %q, where a JSON array or object should", first)
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("the file is empty")
			}
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case 0xEF: // a UTF-8 byte order mark
			br.ReadByte()
			br.ReadByte()
			continue
		}
		return b, br.UnreadByte()
	}
}

func jsonError(err error) error {
	if errors.Is(err, portable.ErrTooLarge) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("the JSON is malformed at byte %d: %v (is the file complete?)", se.Offset, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("the JSON ends early: the file is truncated")
	}
	return fmt.Errorf("read JSON: %w", err)
}

// eachConversation decodes each element of a JSON array as a T and hands it,
// with its position from 1, to fn; an element that is not a T is skipped
// with the reason ("what n": "notOne: why"), so one bad entry loses nothing
// else.
func eachConversation[T any](ctx context.Context, r io.Reader, l portable.Limits, what, notOne string, emit func(portable.Entry) error, fn func(c *T, n int, emit func(portable.Entry) error) error) error {
	n := 0
	return eachElement(r, l, func(raw json.RawMessage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n++
		name, bad := fmt.Sprintf("%s %d", what, n), portable.CountInvalidUTF8(raw)
		var c T
		if err := json.Unmarshal(raw, &c); err != nil {
			return emit(portable.Entry{What: name, Skip: notOne + ": " + err.Error(), InvalidUTF8: bad})
		}
		// The conversation's first entry carries the count for all of it.
		return fn(&c, n, func(e portable.Entry) error {
			if bad > 0 {
				e.InvalidUTF8, bad = bad, 0
				if e.What == "" {
					e.What = name
				}
			}
			return emit(e)
		})
	})
}
