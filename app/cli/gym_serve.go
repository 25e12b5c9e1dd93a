package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/gym"
)

func (c *cli) gymServe() *cobra.Command {
	var cfg gym.NodeConfig
	var p2p []string
	var httpAddr, tasksFile string
	var formats []string
	cmd := &cobra.Command{
		Use:   "serve --dir DIR",
		Short: "Run a gym node: take signed contributions over libp2p and HTTP, check them, keep them in DIR",
		Long: `Run a gym: publish a signed manifest (name, what it wants, formats, licence,
limits, peer id), take contributions over libp2p (` + gym.ProtocolID + `) and HTTP
(GET /manifest, POST /contribute, POST /revoke), check signatures and schema,
drop duplicates and replays, and enforce the size limits and a per-contributor
rate. Accepted items go to DIR/gym.db; ` + "`cairn gym export`" + ` writes them as JSONL.
The gym's key is DIR/node.key: its peer id is the gym's id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dir == "" {
				return usageError{fmt.Errorf("--dir DIR is needed: the folder for the gym's key and data")}
			}
			for _, f := range formats {
				pf, err := gym.ParseFormat(f)
				if err != nil {
					return usageError{err}
				}
				cfg.Formats = append(cfg.Formats, pf)
			}
			cfg.Logger = slog.Default()
			ctx := cmd.Context()
			n, err := gym.OpenNode(ctx, cfg)
			if err != nil {
				return err
			}
			defer n.Close()
			if tasksFile != "" {
				b, err := os.ReadFile(tasksFile)
				if err != nil {
					return err
				}
				var tf gym.TaskFile
				if err := json.Unmarshal(b, &tf); err != nil {
					return usageError{fmt.Errorf("--tasks %s: not a task file ({\"sets\": [...], \"tasks\": [...]}): %v", tasksFile, err)}
				}
				if err := n.PublishTasks(ctx, tf); err != nil {
					return fmt.Errorf("--tasks %s: %w", tasksFile, err)
				}
				fmt.Fprintf(c.Stderr, "Published %d task sets and %d tasks.\n", len(tf.Sets), len(tf.Tasks))
			}
			errc := make(chan error, 1)
			if httpAddr != "" {
				ln, err := net.Listen("tcp", httpAddr)
				if err != nil {
					return fmt.Errorf("listen on %s: %w", httpAddr, err)
				}
				n.SetURL("http://" + ln.Addr().String())
				hs := &http.Server{Handler: n.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute}
				go func() { errc <- hs.Serve(ln) }()
				defer hs.Close()
				fmt.Fprintf(c.Stderr, "HTTP: http://%s\n", ln.Addr())
			}
			if len(p2p) > 0 {
				h, addrs, err := n.ServeP2P(p2p)
				if err != nil {
					return err
				}
				defer h.Close()
				for _, a := range addrs {
					fmt.Fprintf(c.Stderr, "libp2p: %s\n", a)
				}
			}
			fmt.Fprintf(c.Stderr, "Gym %q (%s) serving %s. Ctrl-C stops.\n", cfg.Name, n.ID(), cfg.Dir)
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
				return nil
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "folder for the gym's key (node.key) and data (gym.db)")
	f.StringVar(&cfg.Name, "name", "cairn gym", "the gym's name")
	f.StringVar(&cfg.Description, "description", "", "what the gym is for")
	f.StringVar(&cfg.Wants, "wants", "", "what data the gym wants, in words")
	f.StringVar(&cfg.License, "license", "CC-BY-4.0", "the licence contributions are given under")
	f.StringSliceVar(&formats, "formats", nil, "formats taken: sft, dpo, kto (default all)")
	f.IntVar(&cfg.Limits.MaxItemBytes, "max-item-bytes", gym.DefaultLimits.MaxItemBytes, "largest item taken, in bytes")
	f.IntVar(&cfg.Limits.MaxEnvelopeItems, "max-envelope-items", gym.DefaultLimits.MaxEnvelopeItems, "most items in one contribution")
	f.IntVar(&cfg.Limits.ItemsPerHour, "items-per-hour", gym.DefaultLimits.ItemsPerHour, "most items one contributor key may have accepted in an hour")
	f.IntVar(&cfg.Limits.NewKeyItemsPerHour, "new-key-items-per-hour", 0, "a new key's hourly quota, which then follows its record (0: every key gets --items-per-hour)")
	f.IntVar(&cfg.Limits.StampBits, "stamp-bits", 0, "proof-of-work bits each key's registration stamp needs (0: none; 20 is about a second)")
	f.Float64Var(&cfg.NearDuplicate, "near-duplicate", gym.DefaultNearDuplicate, "refuse items this similar (MinHash of word pairs) to one kept; negative: off")
	f.StringSliceVar(&p2p, "p2p", []string{"/ip4/0.0.0.0/tcp/4747"}, "libp2p listen multiaddrs (empty: no libp2p)")
	f.StringVar(&tasksFile, "tasks", "", "a JSON task file to publish: task sets (in the manifest) and tasks, gold ones with their known result")
	f.StringVar(&httpAddr, "http", "", "HTTP listen address, e.g. 0.0.0.0:8747 (put TLS in front for HTTPS); empty: no HTTP")
	return cmd
}

func (c *cli) gymExport() *cobra.Command {
	var dir, format, out string
	var contributors bool
	var minScore float64
	cmd := &cobra.Command{
		Use:   "export --dir DIR --format sft|dpo|kto|parquet --out FILE.jsonl|DIR",
		Short: "Write a gym node's accepted, unrevoked, unrejected items as TRL JSONL, or all of them as Parquet shards with a dataset card",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := openGymNode(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer n.Close()
			if contributors {
				stats, err := n.Contributors(cmd.Context())
				if err != nil {
					return err
				}
				type scored struct {
					gym.ContributorStats
					Record gym.Record `json:"record"`
				}
				records, err := n.Records(cmd.Context())
				if err != nil {
					return err
				}
				out := []scored{}
				for _, s := range stats {
					r, ok := records[s.Key]
					if !ok { // a key with no items left
						if r, err = n.Record(cmd.Context(), s.Key); err != nil {
							return err
						}
					}
					out = append(out, scored{s, r})
				}
				return c.printJSON(out)
			}
			if format == "parquet" {
				if out == "" || out == "-" {
					return usageError{fmt.Errorf("--out DIR is needed: the folder for the Parquet shards and the dataset card")}
				}
				rep, err := n.ExportParquet(cmd.Context(), out, minScore)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.Stderr, "Wrote %d Parquet files and a dataset card (README.md) to %s: rows %v.\n", len(rep.Files), out, rep.Rows)
				return nil
			}
			f, err := gym.ParseFormat(format)
			if err != nil {
				return usageError{err}
			}
			if out == "" {
				return usageError{fmt.Errorf("--out FILE.jsonl is needed (- for standard output)")}
			}
			return c.writeOut(out, func(w io.Writer) (int, error) { return n.ExportScored(cmd.Context(), f, minScore, w) })
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the gym's folder")
	cmd.Flags().StringVar(&format, "format", "sft", "sft, dpo or kto (JSONL), or parquet (every format, rating and label too, in the Hugging Face datasets layout)")
	cmd.Flags().StringVar(&out, "out", "", "the JSONL file to write (- for standard output), or with parquet the folder")
	cmd.Flags().BoolVar(&contributors, "contributors", false, "print each contributor key's acceptance and record instead")
	cmd.Flags().Float64Var(&minScore, "min-score", 0, "only items whose contributor's score (0-1, see FORMATS.md) is at least this")
	return cmd
}

func (c *cli) gymReject() *cobra.Command {
	var dir, reason string
	cmd := &cobra.Command{
		Use:   "reject --dir DIR HASH --reason TEXT",
		Short: "As a gym's operator, take an accepted item out of the data, with a reason that counts against its key",
		Args:  exactArgs(1, "the item's hash (from `cairn gym export`'s provenance or a receipt)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := openGymNode(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer n.Close()
			if err := n.Reject(cmd.Context(), args[0], reason); err != nil {
				return err
			}
			fmt.Fprintf(c.Stderr, "Rejected %.16s…: it leaves later exports, and counts against the key that sent it.\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the gym's folder")
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept with the rejection)")
	return cmd
}

// openGymNode opens the gym node that `cairn gym serve --dir DIR` made, for
// its operator's commands.
func openGymNode(ctx context.Context, dir string) (*gym.Node, error) {
	if dir == "" {
		return nil, usageError{fmt.Errorf("--dir DIR is needed: the gym's folder")}
	}
	if _, err := os.Stat(filepath.Join(dir, "gym.db")); err != nil {
		return nil, fmt.Errorf("%s is not a gym's folder (no gym.db): give the --dir that `cairn gym serve` used", dir)
	}
	return gym.OpenNode(ctx, gym.NodeConfig{Dir: dir})
}
