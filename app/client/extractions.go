package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/cairnlabs/cairn/app/apitype"
)

// StartExtraction starts extraction over the person's messages in the
// server's background; the same messages again return the same job.
func (c *Client) StartExtraction(ctx context.Context, in apitype.ExtractionRequest) (apitype.Extraction, error) {
	var out apitype.Extraction
	err := c.do(ctx, "POST", "/api/v1/extractions", nil, in, &out)
	return out, err
}

// Extractions lists the extraction jobs, the latest started first.
func (c *Client) Extractions(ctx context.Context) ([]apitype.Extraction, error) {
	var out apitype.ExtractionList
	err := c.do(ctx, "GET", "/api/v1/extractions", nil, nil, &out)
	return out.Extractions, err
}

// Extraction is one extraction job by id.
func (c *Client) Extraction(ctx context.Context, id string) (apitype.Extraction, error) {
	var out apitype.Extraction
	err := c.do(ctx, "GET", "/api/v1/extractions/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// CancelExtraction stops a job after the message it reads now.
func (c *Client) CancelExtraction(ctx context.Context, id string) (apitype.Extraction, error) {
	var out apitype.Extraction
	err := c.do(ctx, "DELETE", "/api/v1/extractions/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// WatchExtraction follows job id on the events stream, calling progress
// at each change, until it finishes (done, cancelled or failed) or ctx
// ends; it returns the job as it finished.
func (c *Client) WatchExtraction(ctx context.Context, id string, progress func(apitype.Extraction)) (apitype.Extraction, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The stream first, then the job: a change between the two is on the
	// stream, and a job finished before it is in the answer.
	resp, err := c.send(ctx, "GET", "/api/v1/events", nil, nil)
	if err != nil {
		return apitype.Extraction{}, err
	}
	defer resp.Body.Close()
	job, err := c.Extraction(ctx, id)
	if err != nil || job.Finished() {
		return job, err
	}
	progress(job)
	errFinished := fmt.Errorf("finished")
	err = readEvents(resp.Body, func(event string, data []byte) error {
		if event != "extraction" {
			return nil
		}
		var j apitype.Extraction
		if err := json.Unmarshal(data, &j); err != nil {
			return fmt.Errorf("%s sent an extraction event the client cannot read: %w", c.server, err)
		}
		if j.ID != id || j.Rev <= job.Rev {
			return nil
		}
		job = j
		progress(job)
		if job.Finished() {
			return errFinished
		}
		return nil
	})
	switch {
	case err == errFinished:
		return job, nil
	case ctx.Err() != nil:
		return job, ctx.Err()
	case err == nil:
		err = errStreamCut
	}
	return job, err
}
