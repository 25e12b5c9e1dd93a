package client

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cairnlabs/cairn/app/apitype"
)

// readEvents reads a Server-Sent Events stream, calling fn with each
// event's name and data, until the stream ends or fn returns an error.
func readEvents(r io.Reader, fn func(event string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if event != "" || data != nil {
				if err := fn(event, data); err != nil {
					return err
				}
			}
			event, data = "", nil
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" "))...)
		}
	}
	return sc.Err()
}

// streamError is the error an "error" event carries: {"error": {...}}.
func streamError(data []byte) error {
	var body apitype.ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Message == "" {
		return fmt.Errorf("the stream ended with an error the client cannot read: %s", data)
	}
	return &Error{Status: 200, Code: body.Error.Code, Message: body.Error.Message}
}
