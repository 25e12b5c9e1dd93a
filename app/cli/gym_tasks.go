package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/gym"
)

func (c *cli) gymTasks() *cobra.Command {
	var set, results, license string
	var n int
	var asJSON, noSend bool
	cmd := &cobra.Command{
		Use:   "tasks GYM",
		Short: "Take a gym's tasks (answer, compare, rate, label): review the exact bytes, accept its licence, send them signed",
		Long: `Fetch a batch of the gym's tasks (--set, default its first set) and do them.
In a terminal each task is shown and you answer it; the item it makes is shown
in the exact bytes that would be signed and sent, and you approve or skip it,
then accept the gym's licence. In scripts: --json fetches and prints tasks;
--results FILE (a JSON array of results: {"task", "answer" | "choice" (1-based)
and "reason" | "scores" | "labels"}) prints the items they make, and with
--accept-license sends them, through the same outbox as feedback.`,
		Args: exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var rs []gym.TaskResult
			if results != "" {
				b, err := os.ReadFile(results)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &rs); err != nil {
					return usageError{fmt.Errorf("--results %s: not a JSON array of results: %v", results, err)}
				}
				for i := range rs {
					if rs[i].Choice != nil { // 1-based on the command line
						*rs[i].Choice--
					}
				}
			}
			return c.withGymAPI(ctx, func(cl *client.Client) error {
				interactive := results == ""
				if interactive {
					batch, err := cl.FetchGymTasks(ctx, args[0], apitype.GymTaskFetch{Set: set, N: n})
					if err != nil {
						return err
					}
					if asJSON || !c.Term.IsTerminal() {
						return c.printJSON(batch)
					}
					if rs, err = c.doTasksInteractively(batch.Sets, batch.Tasks); err != nil {
						return err
					}
					if len(rs) == 0 {
						fmt.Fprintln(c.Stderr, "No task done; nothing approved or sent.")
						return nil
					}
				}
				rev, err := cl.ReviewGymTasks(ctx, args[0], apitype.GymTaskResults{Results: rs})
				if err != nil {
					return err
				}
				cands := rev.Items
				if interactive {
					var chosen []gym.Candidate
					for _, cd := range cands {
						fmt.Fprintf(c.Stderr, "\n%s item %s, exactly as it would be sent:\n%s\n", cd.Format, cd.Hash[:16], cd.Item)
						if ans, _ := c.Term.ReadLine("(a)pprove or (s)kip? "); strings.HasPrefix(strings.ToLower(ans), "a") {
							chosen = append(chosen, cd)
						}
					}
					cands = chosen
					if len(cands) > 0 && license == "" {
						fmt.Fprintf(c.Stderr, "Gym %s takes contributions under the licence %q.\n", rev.Name, rev.License)
						if ans, _ := c.Term.ReadLine("Accept it and send " + strconv.Itoa(len(cands)) + " items? [y/N] "); strings.EqualFold(ans, "y") || strings.EqualFold(ans, "yes") {
							license = rev.License
						}
					}
				} else {
					for _, cd := range cands {
						fmt.Fprintf(c.Stdout, "%s %s\n%s\n\n", cd.Hash, cd.Format, cd.Item)
					}
				}
				if len(cands) == 0 || license == "" {
					fmt.Fprintf(c.Stderr, "%d items; nothing approved or sent. Approve with --accept-license %q.\n", len(cands), rev.License)
					return nil
				}
				send := !noSend
				done, err := cl.SubmitGymTasks(ctx, args[0], apitype.GymTaskResults{Results: rs, Approve: hashes(cands), AcceptLicense: license, Send: &send})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stderr, "Approved %d items for %s.\n", done.Approved, rev.Name)
				if done.Sent != nil {
					c.printSendReport(*done.Sent)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&set, "set", "", "the task set (the gym's manifest lists them; default its first)")
	f.IntVar(&n, "n", 5, "how many tasks to fetch")
	f.BoolVar(&asJSON, "json", false, "fetch tasks and print them as JSON")
	f.StringVar(&results, "results", "", "a JSON file of results for tasks fetched before")
	f.StringVar(&license, "accept-license", "", "accept the gym's licence, named as its manifest names it")
	f.BoolVar(&noSend, "no-send", false, "approve into the outbox, send later with `cairn gym send`")
	return cmd
}

// doTasksInteractively asks for each task's result in the terminal.
func (c *cli) doTasksInteractively(sets []gym.TaskSet, tasks []gym.Task) ([]gym.TaskResult, error) {
	var out []gym.TaskResult
	for i, t := range tasks {
		fmt.Fprintf(c.Stderr, "\n[%d/%d] %s task %s\n%s\n", i+1, len(tasks), t.Kind, t.ID, t.Prompt)
		for j, a := range t.Answers {
			fmt.Fprintf(c.Stderr, "  (%d) %s\n", j+1, a)
		}
		r := gym.TaskResult{Task: t.ID}
		var err error
		switch t.Kind {
		case gym.TaskAnswer:
			if t.Reference != "" {
				fmt.Fprintf(c.Stderr, "Reference: %s\n", t.Reference)
			}
			r.Answer, err = c.Term.ReadLine("Your answer (empty skips): ")
		case gym.TaskCompare:
			var s string
			if s, err = c.Term.ReadLine("Best answer number (empty skips): "); err == nil && s != "" {
				k, _ := strconv.Atoi(s)
				k--
				r.Choice = &k
				r.Reason, err = c.Term.ReadLine("Why? ")
			}
		case gym.TaskRate, gym.TaskLabel:
			set := setOf(sets, t.Set)
			if t.Kind == gym.TaskRate {
				r.Scores = map[string]int{}
				for _, k := range set.Rubric {
					s, e := c.Term.ReadLine(fmt.Sprintf("%s (1-%d): ", k, set.Scale))
					if err = e; err != nil || s == "" {
						break
					}
					r.Scores[k], _ = strconv.Atoi(s)
				}
			} else {
				var s string
				s, err = c.Term.ReadLine("Labels, comma-separated, from " + strings.Join(set.Labels, ", ") + ": ")
				for _, l := range strings.Split(s, ",") {
					if l = strings.TrimSpace(l); l != "" {
						r.Labels = append(r.Labels, l)
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		if r.Answer != "" || r.Choice != nil || len(r.Scores) > 0 || len(r.Labels) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

func setOf(sets []gym.TaskSet, id string) gym.TaskSet {
	for _, s := range sets {
		if s.ID == id {
			return s
		}
	}
	return gym.TaskSet{}
}
