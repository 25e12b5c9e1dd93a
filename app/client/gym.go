package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
)

// GymDataset writes the person's feedback as a TRL dataset in format
// (sft, dpo or kto) to w, one JSON object a line, redacted as for a gym
// when redact is set, and says how many lines it wrote.
func (c *Client) GymDataset(ctx context.Context, format string, redact bool, w io.Writer) (int, error) {
	q := url.Values{"format": {format}}
	if redact {
		q.Set("redact", "1")
	}
	resp, err := c.send(ctx, "GET", "/api/v1/gym/dataset", q, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	lc := &lineCounter{w: w}
	if _, err := io.Copy(lc, resp.Body); err != nil {
		return lc.lines, fmt.Errorf("%s: the dataset stopped midway: %w", c.server, err)
	}
	return lc.lines, nil
}

// lineCounter counts the lines it passes on.
type lineCounter struct {
	w     io.Writer
	lines int
}

func (l *lineCounter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.lines += bytes.Count(p[:n], []byte("\n"))
	return n, err
}
