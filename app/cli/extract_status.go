package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
)

// withExtractionsAPI is withAPI for the extraction jobs: with no owner,
// the handler serves in-process over the vault opened locked (the jobs'
// journals are the home's, so listing them needs no passphrase).
func (c *cli) withExtractionsAPI(ctx context.Context, fn func(api *client.Client, owned bool) error) error {
	if oc, ok := c.ownerClient(); ok {
		return fn(oc.api, true)
	}
	sess, err := c.OpenLocked(ctx)
	if err != nil {
		return err
	}
	defer sess.Close(context.WithoutCancel(ctx))
	return fn(c.inProcessExtractions(sess), false)
}

func (c *cli) importStatusCommand() *cobra.Command {
	var watch, asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the extractions of `cairn import --extract`: how far each got",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withExtractionsAPI(ctx, func(api *client.Client, owned bool) error {
				jobs, err := api.Extractions(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					writeJSONLine(c.Stdout, apitype.ExtractionList{Extractions: jobs})
				} else {
					c.printExtractions(jobs, owned)
				}
				if !watch {
					return nil
				}
				for _, j := range jobs {
					if j.Finished() {
						continue
					}
					if !owned {
						return fmt.Errorf("no cairn process serves this home, so extraction %s is not running: start `cairn serve` (it goes on by itself), or run the same `cairn import --extract` again", j.ID)
					}
					bar := newProgressBar(c.Stderr, c.isTerminalErr())
					j, err := api.WatchExtraction(ctx, j.ID, func(j apitype.Extraction) {
						bar.update(agent.PullProgress{Status: "extracting memories", Total: int64(j.Total), Completed: int64(j.Done)})
					})
					bar.done()
					if err != nil {
						return err
					}
					fmt.Fprintf(c.Stderr, "%s: %s.\n", j.State, extractionSummary(j))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the unfinished extractions until they finish")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the jobs as JSON")
	return cmd
}

func (c *cli) printExtractions(jobs []apitype.Extraction, owned bool) {
	if len(jobs) == 0 {
		fmt.Fprintln(c.Stderr, "No extractions yet: `cairn import FILE --extract` starts one.")
		return
	}
	tw := tabwriter.NewWriter(c.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATE\tREAD\tSTORED\tDROPPED\tFAILED\tSTARTED")
	for _, j := range jobs {
		state := j.State
		if !owned && !j.Finished() {
			state = "stopped" // nothing runs it without an owner
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\n", j.ID, state, j.Done, j.Total, j.Stored, j.Dropped, j.Errors, j.Started.Local().Format("2006-01-02 15:04"))
	}
	tw.Flush()
	for _, j := range jobs {
		if j.Error != "" {
			fmt.Fprintf(c.Stderr, "%s: %s\n", j.ID, j.Error)
		}
	}
}

func (c *cli) importCancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel JOB",
		Short: "Stop an extraction after the message it reads now (what it found is kept)",
		Args:  exactArgs(1, "the job's id (`cairn import status` lists them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withExtractionsAPI(ctx, func(api *client.Client, owned bool) error {
				j, err := api.CancelExtraction(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stderr, "Extraction %s %s at message %d of %d; `cairn import --extract` with the same file goes on.\n", j.ID, j.State, j.Done, j.Total)
				return nil
			})
		},
	}
}
