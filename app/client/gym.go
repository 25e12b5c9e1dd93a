package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/cairnlabs/cairn/app/apitype"
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

// GymReview shows what the person's feedback would give the gym (its id
// or name), of format only when format is not empty.
func (c *Client) GymReview(ctx context.Context, gymRef, format string) (apitype.GymReview, error) {
	var out apitype.GymReview
	var q url.Values
	if format != "" {
		q = url.Values{"format": {format}}
	}
	err := c.do(ctx, "GET", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/review", q, nil, &out)
	return out, err
}

// GymDecide approves and declines reviewed items of the gym.
func (c *Client) GymDecide(ctx context.Context, gymRef string, d apitype.GymDecision) (apitype.GymDecided, error) {
	var out apitype.GymDecided
	err := c.do(ctx, "POST", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/approve", nil, d, &out)
	return out, err
}

// GymTasks is the gym's task sets and the tasks kept from it, not done
// yet; it contacts nobody.
func (c *Client) GymTasks(ctx context.Context, gymRef string) (apitype.GymTasks, error) {
	var out apitype.GymTasks
	err := c.do(ctx, "GET", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/tasks", nil, nil, &out)
	return out, err
}

// FetchGymTasks fetches a batch of tasks from the gym and answers as
// GymTasks does.
func (c *Client) FetchGymTasks(ctx context.Context, gymRef string, f apitype.GymTaskFetch) (apitype.GymTasks, error) {
	var out apitype.GymTasks
	err := c.do(ctx, "POST", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/tasks", nil, f, &out)
	return out, err
}

// ReviewGymTasks shows the items results would give, redacted, in the
// exact bytes that would be signed and sent; it sends nothing.
func (c *Client) ReviewGymTasks(ctx context.Context, gymRef string, results apitype.GymTaskResults) (apitype.GymReview, error) {
	var out apitype.GymReview
	err := c.do(ctx, "POST", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/tasks/review", nil, results, &out)
	return out, err
}

// SubmitGymTasks approves reviewed items of results under the gym's
// licence, and sends them unless results.Send is false.
func (c *Client) SubmitGymTasks(ctx context.Context, gymRef string, results apitype.GymTaskResults) (apitype.GymTaskSubmitted, error) {
	var out apitype.GymTaskSubmitted
	err := c.do(ctx, "POST", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/tasks/submit", nil, results, &out)
	return out, err
}
