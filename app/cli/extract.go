package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory/importers"
	"github.com/cairnlabs/cairn/memory/portable"
)

// Extraction from imported history: after `cairn import --extract`, a
// model reads each imported message of the person's and proposes
// memories from it, as after a chat turn (every memory must quote the
// person's words). It is an extraction job of the API
// (POST /api/v1/extractions): with an owner running, the owner runs it in
// its background and this command returns at once (`cairn import status`
// follows it); with none, the same handler serves it in this process and
// the command waits for it. Either way the job's journal, in the home's
// imports/ folder, lets a stopped run go on where it stopped, and the
// same messages again find the job done instead of reading them again.

// walkUserMessages reads the file again for the ids of the person's
// messages in it, when the owner imported it: the ids come from the file,
// so they are those the owner stored.
func walkUserMessages(ctx context.Context, path string, opts importers.Options) ([]string, error) {
	src, _, err := importers.Open(path, opts)
	if err != nil {
		return nil, err
	}
	var mine importers.PersonsMessages
	err = src.Walk(ctx, func(e portable.Entry) error { mine.Observe(e); return nil })
	return mine.IDs, err
}

// inProcessExtractions is the API handler over this command's session,
// with the home's journals, for an extraction with no owner.
func (c *cli) inProcessExtractions(sess *owner.Session) *client.Client {
	return client.InProcess(api.New(api.Config{
		Vault: sess.Vault, Agent: sess.Agent, Backends: sess.Backends,
		ImportDir: filepath.Join(c.HomeDir, "imports"),
	}).InProcess())
}

// extractFromImport starts extraction over ids; wait follows it to the end
// (no owner: it runs in this process), else it returns once started.
func (c *cli) extractFromImport(ctx context.Context, api *client.Client, model string, ids []string, wait bool) error {
	if len(ids) == 0 {
		fmt.Fprintln(c.Stderr, "No messages of yours in this import to extract memories from.")
		return nil
	}
	job, err := api.StartExtraction(ctx, apitype.ExtractionRequest{MessageIDs: ids, Model: model})
	if err != nil {
		return err
	}
	if job.State == agent.JobDone {
		fmt.Fprintf(c.Stderr, "Memories were already extracted from these %s.\n", countOf(job.Total, "message"))
		return nil
	}
	if !wait {
		fmt.Fprintf(c.Stderr, "Extracting memories from %d of your messages in the cairn process serving this home (job %s): it goes on after this command, and after a restart. `cairn import status --watch` follows it.\n", job.Total, job.ID)
		return nil
	}
	if job.Done > 0 {
		fmt.Fprintf(c.Stderr, "Resuming extraction at message %d of %d.\n", job.Done+1, job.Total)
	}
	bar := newProgressBar(c.Stderr, c.isTerminalErr())
	job, err = api.WatchExtraction(ctx, job.ID, func(j apitype.Extraction) {
		bar.update(agent.PullProgress{Status: "extracting memories", Total: int64(j.Total), Completed: int64(j.Done)})
	})
	bar.done()
	if ctx.Err() != nil {
		// Stop the job, or closing the session would wait for it.
		api.CancelExtraction(context.WithoutCancel(ctx), job.ID)
		return errors.New("extraction stopped: the memories found so far are kept; run the same command again to go on")
	}
	if err != nil {
		return err
	}
	if job.State == agent.JobFailed {
		return fmt.Errorf("extraction stopped at message %d of %d: %s", job.Done, job.Total, job.Error)
	}
	fmt.Fprintln(c.Stderr, extractionSummary(job)+".")
	return nil
}

func extractionSummary(j apitype.Extraction) string {
	msg := fmt.Sprintf("Extraction read %d of your messages: %s stored, %s dropped", j.Done, countOf(j.Stored, "memory"), countOf(j.Dropped, "proposal"))
	if j.Junk > 0 {
		msg += fmt.Sprintf(", %d answers of the model unusable", j.Junk)
	}
	if j.Errors > 0 {
		msg += fmt.Sprintf(", %s failed", countOf(j.Errors, "message"))
	}
	return strings.TrimSpace(msg)
}
