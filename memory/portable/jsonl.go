package portable

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// JSONLSource reads Cairn JSONL: records as export writes them, and plain
// memories ({"text": …} per line). Lines it cannot read are skipped with
// the reason; a line over the length limit stops the import.
func JSONLSource(r io.Reader, l Limits) Source {
	l = l.orDefault()
	return SourceFunc(func(ctx context.Context, emit func(Entry) error) error {
		br := bufio.NewReaderSize(r, 64<<10)
		now := time.Now()
		for n := 1; ; n++ {
			raw, err := readLine(br, l.MaxLine)
			if errors.Is(err, io.EOF) && len(raw) == 0 {
				return nil
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("line %d: %w", n, err)
			}
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 {
				continue
			}
			rec, derr := decodeLine(raw, now)
			bad := CountInvalidUTF8(raw)
			switch {
			case derr != nil:
				if e := emit(Entry{What: fmt.Sprintf("line %d", n), Skip: derr.Error(), InvalidUTF8: bad}); e != nil {
					return e
				}
			case rec != nil:
				if e := emit(Entry{Record: rec, What: fmt.Sprintf("line %d", n), InvalidUTF8: bad}); e != nil {
					return e
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
		}
	})
}

// readLine reads up to and without the next newline, refusing lines over
// max bytes before buffering them.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > max {
			return nil, fmt.Errorf("%w: a line is over %d MiB", ErrTooLarge, max>>20)
		}
		out = append(out, chunk...)
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return out, err
		}
	}
}
