package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
)

// Models lists the models of every backend.
func (c *Client) Models(ctx context.Context) (apitype.ModelList, error) {
	var out apitype.ModelList
	err := c.do(ctx, "GET", "/api/v1/models", nil, nil, &out)
	return out, err
}

// errStreamCut means a stream ended before its last event.
var errStreamCut = errors.New("the stream ended before it said done")

// Pull downloads a model into the default backend (Ollama), calling
// progress with each step as it arrives.
func (c *Client) Pull(ctx context.Context, req apitype.PullRequest, progress func(agent.PullProgress)) error {
	resp, err := c.send(ctx, "POST", "/api/v1/models/pull", nil, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	done := false
	err = readEvents(resp.Body, func(event string, data []byte) error {
		switch event {
		case "progress":
			var p agent.PullProgress
			if err := json.Unmarshal(data, &p); err != nil {
				return fmt.Errorf("%s sent a progress step the client cannot read: %w", c.server, err)
			}
			progress(p)
		case "error":
			return streamError(data)
		case "done":
			done = true
		}
		return nil
	})
	if err == nil && !done {
		err = errStreamCut
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
