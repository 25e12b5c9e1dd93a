package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/gym"
	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/atomicfile"
)

func (c *cli) gymCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gym",
		Short: "Feedback on replies, datasets from it, and contributions to open post-training gyms",
		Long: `Rate replies, pick the best of their regenerations and correct them; turn that
feedback into training data (TRL's SFT, DPO and KTO formats) for yourself, or
contribute it to a gym you add: redacted, reviewed item by item, and signed
with a key made for that gym alone. Nothing is sent without your approval,
and there are no gyms until you add one.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.gymFeedback(), c.gymAdd(), c.gymList(), c.gymRemove(), c.gymDataset(), c.gymReview(),
		c.gymSend(), c.gymOutbox(), c.gymReceipts(), c.gymRevoke(), c.gymVerify(), c.gymWitness(), c.gymTasks(), c.gymServe(), c.gymExport(), c.gymReject())
	return cmd
}

// withContributor opens the home's gym file.
func (c *cli) withContributor(ctx context.Context, fn func(*gym.Contributor) error) error {
	if err := os.MkdirAll(c.HomeDir, 0o700); err != nil {
		return err
	}
	gc, err := gym.OpenContributor(ctx, gym.ContributorConfig{Path: c.Home().GymPath()})
	if err != nil {
		return err
	}
	defer gc.Close()
	return fn(gc)
}

// withGym opens the home's gym file and finds the gym ref names (its id or
// name) in it.
func (c *cli) withGym(ctx context.Context, ref string, fn func(*gym.Contributor, gym.GymInfo) error) error {
	return c.withContributor(ctx, func(gc *gym.Contributor) error {
		g, err := gc.Gym(ctx, ref)
		if err != nil {
			return err
		}
		return fn(gc, g)
	})
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) gymFeedback() *cobra.Command {
	var up, down, prefer bool
	var reason, correct string
	cmd := &cobra.Command{
		Use:   "feedback MESSAGE-ID",
		Short: "Rate a reply (--up/--down, --reason), prefer it over its regenerations (--prefer), or correct it (--correct TEXT)",
		Args:  exactArgs(1, "the id of an assistant reply (`cairn conversations show ID` lists them)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := memory.NewFeedback{MessageID: args[0], Comment: reason, Preferred: prefer}
			switch {
			case up && down:
				return usageError{fmt.Errorf("--up or --down, not both")}
			case up:
				n.Rating = 1
			case down:
				n.Rating = -1
			}
			if correct != "" {
				text, err := c.textArg(correct)
				if err != nil {
					return err
				}
				n.Correction = text
			}
			if n.Rating == 0 && !prefer && n.Correction == "" {
				return usageError{fmt.Errorf("say what you think: --up, --down, --prefer or --correct TEXT")}
			}
			var fb memory.Feedback
			err := c.withAPI(cmd.Context(), func(cl *client.Client) (err error) {
				fb, err = cl.AddFeedback(cmd.Context(), n.MessageID, apitype.FeedbackInput{Rating: n.Rating, Comment: n.Comment, Correction: n.Correction, Preferred: n.Preferred})
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(c.Stdout, fb.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&up, "up", false, "thumbs up: a good reply")
	f.BoolVar(&down, "down", false, "thumbs down: a bad reply")
	f.StringVar(&reason, "reason", "", "why, in a few words")
	f.BoolVar(&prefer, "prefer", false, "this reply is the best of its regenerations")
	f.StringVar(&correct, "correct", "", "the answer you wanted instead (- reads it from standard input)")
	return cmd
}

func (c *cli) gymAdd() *cobra.Command {
	return &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a gym by its address (http(s):// URL or libp2p multiaddr with /p2p/ID); only its manifest is fetched",
		Args:  exactArgs(1, "the gym's address"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				g, err := cl.AddGym(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				m := g.Manifest
				fmt.Fprintf(c.Stdout, "Added gym %q (%s)\n  wants:    %s\n  formats:  %v\n  licence:  %s (you accept it when you approve items)\n  limits:   %d bytes an item, %d items an hour\n  your key: %s (made for this gym alone)\nNothing has been sent. `cairn gym review %s` shows what you could give.\n",
					m.Name, g.ID, m.Wants, m.Formats, m.License, m.Limits.MaxItemBytes, m.Limits.ItemsPerHour, g.Contributor, g.ID)
				return nil
			})
		},
	}
}

func (c *cli) gymList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "The gyms you added",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				gyms, err := cl.Gyms(cmd.Context())
				if err != nil {
					return err
				}
				if len(gyms) == 0 {
					fmt.Fprintln(c.Stderr, "No gyms: add one with `cairn gym add ADDRESS`.")
				}
				for _, g := range gyms {
					fmt.Fprintf(c.Stdout, "%s  %s  %s  licence %s\n", g.ID, g.Manifest.Name, g.Address, g.Manifest.License)
				}
				return nil
			})
		},
	}
}

func (c *cli) gymRemove() *cobra.Command {
	return &cobra.Command{
		Use:   "remove GYM",
		Short: "Forget a gym, its key for you and its unsent outbox (receipts stay)",
		Args:  exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				return cl.RemoveGym(cmd.Context(), args[0])
			})
		},
	}
}

func (c *cli) gymDataset() *cobra.Command {
	var format, out string
	var redact bool
	cmd := &cobra.Command{
		Use:   "dataset --format sft|dpo|kto --out FILE.jsonl",
		Short: "Write your feedback as a TRL dataset, for your own fine-tuning",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := gym.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			if out == "" {
				return usageError{fmt.Errorf("--out FILE.jsonl is needed (- for standard output)")}
			}
			ctx := cmd.Context()
			return c.withAPI(ctx, func(cl *client.Client) error {
				return c.writeOut(out, func(w io.Writer) (int, error) { return cl.GymDataset(ctx, string(f), redact, w) })
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "sft", "sft, dpo or kto")
	cmd.Flags().StringVar(&out, "out", "", "the JSONL file to write (- for standard output)")
	cmd.Flags().BoolVar(&redact, "redact", false, "redact personal data, as for a gym")
	return cmd
}

// writeOut writes a file (0600, replaced whole) or standard output.
func (c *cli) writeOut(path string, write func(io.Writer) (int, error)) error {
	if path == "-" {
		_, err := write(os.Stdout)
		return err
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return fmt.Errorf("cannot write %s: the folder %s does not exist (create it, or choose another --out)", path, dir)
	}
	var rows int
	err := atomicfile.WriteFrom(path, 0o600, func(w io.Writer) (err error) {
		rows, err = write(w)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "Wrote %d rows to %s.\n", rows, path)
	return nil
}

// isDir reports whether path is a folder.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func (c *cli) gymReview() *cobra.Command {
	var format, license string
	var approve, decline []string
	var asJSON, noSend bool
	cmd := &cobra.Command{
		Use:   "review GYM",
		Short: "Show exactly what would be sent to a gym, and approve or decline it item by item",
		Long: `Show each item that your feedback would give the gym, redacted, in the exact
bytes that would be signed and sent. In a terminal you approve (a), decline
(d) or skip (s) each one, then accept the gym's licence, and the approved
items are sent. In scripts: --approve HASH... (or all) and --decline HASH...,
with --accept-license naming the gym's licence.`,
		Args: exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var formats []gym.Format
			if format != "" {
				f, err := gym.ParseFormat(format)
				if err != nil {
					return usageError{err}
				}
				formats = append(formats, f)
			}
			return c.withGymAPI(ctx, func(cl *client.Client) error {
				var f string
				if len(formats) > 0 {
					f = string(formats[0])
				}
				rev, err := cl.GymReview(ctx, args[0], f)
				if err != nil {
					return err
				}
				cands := rev.Items
				if asJSON {
					return c.printJSON(map[string]any{"gym": rev.Gym, "license": rev.License, "items": cands})
				}
				interactive := len(approve) == 0 && len(decline) == 0 && c.Term.IsTerminal()
				var chosen, declined []gym.Candidate
				switch {
				case interactive:
					if chosen, declined, err = c.reviewInteractively(cands); err != nil {
						return err
					}
				case len(approve) == 0 && len(decline) == 0:
					for _, cand := range cands {
						fmt.Fprintf(c.Stdout, "%s %s\n%s\n\n", cand.Hash, cand.Format, cand.Item)
					}
					fmt.Fprintf(c.Stderr, "%s for %s. Approve with --approve HASH... (or all) --accept-license %q.\n", countOf(len(cands), "item"), rev.Name, rev.License)
					return nil
				default:
					if chosen, err = pick(cands, approve); err != nil {
						return err
					}
					if declined, err = pick(cands, decline); err != nil {
						return err
					}
				}
				if len(chosen) == 0 {
					if len(declined) > 0 {
						if _, err := cl.GymDecide(ctx, rev.Gym, apitype.GymDecision{Decline: hashes(declined)}); err != nil {
							return err
						}
					}
					fmt.Fprintf(c.Stderr, "Nothing approved; %d declined.\n", len(declined))
					return nil
				}
				if interactive && license == "" {
					fmt.Fprintf(c.Stderr, "Gym %s takes contributions under the licence %q.\n", rev.Name, rev.License)
					if ans, _ := c.Term.ReadLine("Accept it and send " + fmt.Sprint(len(chosen)) + " items? [y/N] "); strings.EqualFold(ans, "y") || strings.EqualFold(ans, "yes") {
						license = rev.License
					} else {
						if len(declined) > 0 {
							if _, err := cl.GymDecide(ctx, rev.Gym, apitype.GymDecision{Decline: hashes(declined)}); err != nil {
								return err
							}
						}
						fmt.Fprintln(c.Stderr, "Nothing was approved or sent.")
						return nil
					}
				}
				send := !noSend
				done, err := cl.GymDecide(ctx, rev.Gym, apitype.GymDecision{Approve: hashes(chosen), Decline: hashes(declined), AcceptLicense: license, Send: &send})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stderr, "Approved %s for %s; %d declined.\n", countOf(done.Approved, "item"), rev.Name, done.Declined)
				if done.Sent != nil {
					c.printSendReport(*done.Sent)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "only items of this format (sft, dpo, kto)")
	f.StringSliceVar(&approve, "approve", nil, "approve these items by hash (all: every item shown)")
	f.StringSliceVar(&decline, "decline", nil, "decline these items by hash (all: every item shown); they are not offered again")
	f.StringVar(&license, "accept-license", "", "accept the gym's licence, named as its manifest names it")
	f.BoolVar(&asJSON, "json", false, "print the items as JSON and decide nothing")
	f.BoolVar(&noSend, "no-send", false, "approve into the outbox, send later with `cairn gym send`")
	return cmd
}

func (c *cli) reviewInteractively(cands []gym.Candidate) (chosen, declined []gym.Candidate, err error) {
	for i, cand := range cands {
		fmt.Fprintf(c.Stderr, "\n[%d/%d] %s item %s, exactly as it would be sent:\n%s\n", i+1, len(cands), cand.Format, cand.Hash[:16], cand.Item)
		ans, err := c.Term.ReadLine("(a)pprove, (d)ecline, (s)kip, (q)uit? ")
		if err != nil {
			return nil, nil, err
		}
		switch strings.ToLower(ans) {
		case "a", "approve":
			chosen = append(chosen, cand)
		case "d", "decline":
			declined = append(declined, cand)
		case "q", "quit":
			return chosen, declined, nil
		}
	}
	return chosen, declined, nil
}

func pick(cands []gym.Candidate, want []string) ([]gym.Candidate, error) {
	if slices.Contains(want, "all") {
		return cands, nil
	}
	var out []gym.Candidate
	for _, w := range want {
		i := slices.IndexFunc(cands, func(c gym.Candidate) bool { return len(w) >= 8 && strings.HasPrefix(c.Hash, w) })
		if i < 0 {
			return nil, fmt.Errorf("no item %q up for review: `cairn gym review GYM` lists their hashes", w)
		}
		out = append(out, cands[i])
	}
	return out, nil
}

func hashes(cs []gym.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Hash
	}
	return out
}

// printSendReport says what a send delivered, and what waits for the next.
func (c *cli) printSendReport(rep gym.SendReport) {
	fmt.Fprintf(c.Stderr, "Sent: %d delivered, %d refused, %d to retry.\n", rep.Delivered, rep.Refused, rep.Failed)
	for _, e := range rep.Errors {
		fmt.Fprintln(c.Stderr, "  "+e)
	}
	if rep.Failed > 0 {
		fmt.Fprintln(c.Stderr, "What was not delivered stays in the outbox: `cairn gym send` tries again.")
	}
}

func (c *cli) gymSend() *cobra.Command {
	return &cobra.Command{
		Use:   "send",
		Short: "Send what you approved that is still in the outbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				rep, err := cl.SendGymOutbox(cmd.Context())
				if err != nil {
					return err
				}
				c.printSendReport(rep)
				return nil
			})
		},
	}
}

func (c *cli) gymOutbox() *cobra.Command {
	return &cobra.Command{
		Use:   "outbox",
		Short: "Approved contributions and revocations, and whether they were delivered",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				entries, err := cl.GymOutbox(cmd.Context())
				if err != nil {
					return err
				}
				return c.printJSON(entries)
			})
		},
	}
}

func (c *cli) gymReceipts() *cobra.Command {
	return &cobra.Command{
		Use:   "receipts GYM",
		Short: "The gym's signed receipts: what it accepted, by item hash",
		Args:  exactArgs(1, "a gym's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withGymFileAPI(cmd.Context(), func(cl *client.Client) error {
				recs, err := cl.GymReceipts(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return c.printJSON(recs)
			})
		},
	}
}

func (c *cli) gymRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke GYM HASH...",
		Short: "Withdraw items you gave a gym (signed with your key for it); it leaves them out of later exports",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return c.withGymFileAPI(ctx, func(cl *client.Client) error {
				done, err := cl.RevokeGymItems(ctx, args[0], args[1:])
				if err != nil {
					return err
				}
				c.printSendReport(done.Sent)
				return nil
			})
		},
	}
}
