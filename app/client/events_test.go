package client

import (
	"errors"
	"strings"
	"testing"
)

// A stream as the API writes it: named events, data over two lines, a
// comment, and an event with no name; readEvents hands each on whole.
func TestReadEventsSplitsTheStream(t *testing.T) {
	stream := "event: progress\ndata: {\"status\":\"pulling\"}\n\n" +
		": a comment\n" +
		"event: delta\ndata: one\ndata: two\n\n" +
		"data: nameless\n\n" +
		"event: done\ndata: {}\n\n"
	var got []string
	err := readEvents(strings.NewReader(stream), func(event string, data []byte) error {
		got = append(got, event+"="+string(data))
		return nil
	})
	want := []string{`progress={"status":"pulling"}`, "delta=one\ntwo", "=nameless", "done={}"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

// An "error" event becomes the API's error, so errors.Is and the message
// are the same as for an error answered before the stream began.
func TestStreamErrorIsTheAPIError(t *testing.T) {
	err := streamError([]byte(`{"error":{"code":"not_found","message":"model x does not exist"}}`))
	var e *Error
	if !errors.As(err, &e) || e.Code != "not_found" || err.Error() != "model x does not exist" {
		t.Fatalf("streamError: %#v", err)
	}
	if err := streamError([]byte("not json")); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Fatalf("an unreadable error event: %v", err)
	}
}
