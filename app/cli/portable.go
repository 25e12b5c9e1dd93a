package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/atomicfile"
	"github.com/cairnlabs/cairn/memory/importers"
	"github.com/cairnlabs/cairn/memory/portable"
)

const envBundlePassphrase = "CAIRN_BUNDLE_PASSPHRASE"

// bundleFlags are how a bundle is encrypted or opened.
type bundleFlags struct {
	passFile   string
	recipients []string
	identity   string
}

func (c *cli) exportCommand() *cobra.Command {
	var (
		out, format  string
		kinds, tags  []string
		since, until string
		bf           bundleFlags
	)
	cmd := &cobra.Command{
		Use:   "export --out FILE",
		Short: "Export the vault: an encrypted bundle for another device, or open JSONL or Markdown",
		Long: `Export the vault, or the part a filter keeps.

  --format bundle (default): an encrypted, integrity-checked .cairn file for
    another device (cairn import FILE there), encrypted to a passphrase
    (asked twice, or $` + envBundlePassphrase + `, or --bundle-passphrase-file)
    or to age public keys (--recipient age1…).
  --format jsonl: one record a line, NOT encrypted (docs/FORMATS.md).
  --format markdown: a folder for reading, NOT encrypted: memories.md and
    one file per conversation.

The file is written under a temporary name and renamed when complete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("say where to write: --out FILE (a folder for --format markdown)")}
			}
			f, err := parseFilter(kinds, tags, since, until)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			if format == portable.FormatMarkdown {
				return c.withVault(ctx, func(v *memory.Vault) error {
					sum, err := portable.ExportMarkdown(ctx, v, f, out)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.Stderr, "Wrote %s and %s (%s) to %s. It is not encrypted.\n", countOf(sum.Memories, "memory"), countOf(sum.Conversations, "conversation"), countOf(sum.Messages, "message"), out)
					return nil
				})
			}
			req := api.ExportRequest{Format: format, Recipients: bf.recipients, Kinds: kindStrings(f.Kinds), Tags: f.Tags}
			if !f.Since.IsZero() {
				req.Since = f.Since.Format(time.RFC3339)
			}
			if !f.Until.IsZero() {
				req.Until = f.Until.Format(time.RFC3339)
			}
			if format == portable.FormatBundle && len(bf.recipients) == 0 {
				pass, err := c.NewPassphrase(envBundlePassphrase, bf.passFile)
				if err != nil {
					return fmt.Errorf("the bundle's passphrase: %w", err)
				}
				req.Passphrase = string(pass)
			} else if format != portable.FormatBundle && format != portable.FormatJSONL {
				return usageError{fmt.Errorf("unknown --format %q: use bundle, jsonl or markdown", format)}
			}
			return c.exportToFile(ctx, out, f, req)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "out", "o", "", "file to write (- for standard output; a new folder for markdown)")
	fl.StringVar(&format, "format", portable.FormatBundle, "bundle, jsonl or markdown")
	fl.StringArrayVar(&kinds, "kind", nil, "only records of this kind: memory, conversation (with its messages), message, feedback (repeat for more)")
	fl.StringArrayVar(&tags, "tag", nil, "only memories with this tag (repeat for any of several)")
	fl.StringVar(&since, "since", "", "only memories and conversations created on or after this date (YYYY-MM-DD or RFC 3339)")
	fl.StringVar(&until, "until", "", "only memories and conversations created before this date")
	fl.StringVar(&bf.passFile, "bundle-passphrase-file", "", "read the bundle's passphrase from this file")
	fl.StringArrayVar(&bf.recipients, "recipient", nil, "encrypt to this age public key (age1…) instead of a passphrase (repeat for more)")
	return cmd
}

func parseFilter(kinds, tags []string, since, until string) (portable.Filter, error) {
	var f portable.Filter
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, memory.Kind(strings.ToLower(k)))
		if k == string(memory.KindConversation) {
			f.Kinds = append(f.Kinds, memory.KindMessage, memory.KindFeedback)
		}
	}
	for _, t := range tags {
		f.Tags = append(f.Tags, strings.ToLower(strings.TrimSpace(t)))
	}
	var err error
	if f.Since, err = parseDate("--since", since); err != nil {
		return f, err
	}
	if f.Until, err = parseDate("--until", until); err != nil {
		return f, err
	}
	return f, nil
}

func parseDate(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%s %q: use a date (2026-01-31) or an RFC 3339 time", flag, s)
	}
	return t, nil
}

func kindStrings(ks []memory.Kind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

// bundleRecipients are the recipients a request names: age public keys,
// or its passphrase.
func bundleRecipients(req api.ExportRequest) ([]age.Recipient, error) {
	if req.Format != portable.FormatBundle {
		return nil, nil
	}
	if len(req.Recipients) > 0 {
		return portable.KeyRecipients(strings.Join(req.Recipients, "\n"))
	}
	r, err := portable.PassphraseRecipient(req.Passphrase, 0)
	if err != nil {
		return nil, err
	}
	return []age.Recipient{r}, nil
}

// exportToFile writes the export under a temporary name next to out and
// renames it when complete, so a stopped export leaves no partial file.
func (c *cli) exportToFile(ctx context.Context, out string, f portable.Filter, req api.ExportRequest) error {
	format := req.Format
	write := func(w io.Writer) (portable.ExportSummary, error) {
		if oc, ok := c.ownerClient(); ok {
			return oc.export(ctx, w, req)
		}
		rs, err := bundleRecipients(req)
		if err != nil {
			return portable.ExportSummary{}, err
		}
		var sum portable.ExportSummary
		err = c.withVault(ctx, func(v *memory.Vault) error {
			var err error
			sum, err = portable.ExportStream(ctx, v, w, format, f, rs...)
			return err
		})
		return sum, err
	}
	var sum portable.ExportSummary
	if out == "-" {
		var err error
		if sum, err = write(c.Stdout); err != nil {
			return err
		}
	} else {
		err := atomicfile.WriteFrom(out, 0o600, func(w io.Writer) (err error) {
			sum, err = write(w)
			return err
		})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	live := map[string]int{}
	forgotten := 0
	for k, n := range sum.ByKind {
		live[k] = n - sum.Forgotten[k]
		forgotten += sum.Forgotten[k]
	}
	if kinds := kindCounts(live); kinds != "" {
		fmt.Fprintf(c.Stderr, "Exported %s to %s.", kinds, out)
	} else {
		fmt.Fprintf(c.Stderr, "Exported %d records to %s.", sum.Records, out)
	}
	if forgotten > 0 {
		fmt.Fprintf(c.Stderr, " With them: %s (of what was forgotten here), so the other side forgets it too.", countOf(forgotten, "forget"))
	}
	if format == portable.FormatJSONL {
		fmt.Fprint(c.Stderr, " It is not encrypted: keep it safe.")
	}
	fmt.Fprintln(c.Stderr)
	if len(sum.Unreadable) > 0 {
		fmt.Fprintf(c.Stderr, "warning: %d records could not be read and were left out (first: %s); `cairn doctor` checks the vault.\n", len(sum.Unreadable), sum.Unreadable[0])
	}
	return nil
}

func kindCounts(m map[string]int) string {
	var parts []string
	for _, k := range []string{"memory", "conversation", "message", "feedback"} {
		if m[k] > 0 {
			parts = append(parts, countOf(m[k], k))
		}
	}
	for k, n := range m {
		if !strings.Contains("memory conversation message feedback", k) {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}

func (c *cli) importCommand() *cobra.Command {
	var (
		format  string
		dryRun  bool
		asJSON  bool
		extract bool
		model   string
		bf      bundleFlags
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a bundle, Cairn JSONL or memories, or a ChatGPT, Claude or Open WebUI export",
		Long: `Import into the vault, merging with what it holds: importing the same file
twice changes nothing. FILE is one of
  - a Cairn bundle (.cairn): asks for its passphrase ($` + envBundlePassphrase + `,
    --bundle-passphrase-file) or opens it with --identity KEYFILE;
  - Cairn JSONL (cairn export --format jsonl), or a file of memories, one
    {"text": …, "kind": "fact", "tags": […], "created_at": …} a line;
  - a ChatGPT export (the zip, or its conversations.json), a Claude export
    (zip or conversations.json), an Open WebUI chat export (JSON).
The format is detected; --format names it. --dry-run says what would be
imported and skipped, and writes nothing. Ctrl-C stops after the current
batch; running the same command again resumes where it stopped.
--extract then has the model read each imported message of yours and keep
memories from it (each quoting your words), as after a chat. With cairn
serve or the app running, their background does it and this command
returns at once (` + "`cairn import status --watch`" + ` follows it; it goes on after
a restart); else this command does it and waits. Stopped, the same command
goes on where it stopped.`,
		Args: exactArgs(1, "the file to import"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path := args[0]
			if format == "" {
				f, err := importers.Detect(path)
				if err != nil {
					return err
				}
				format = f
			}
			var ids []age.Identity
			var pass string
			if format == importers.FormatBundle {
				var err error
				if ids, pass, err = c.bundleIdentities(bf); err != nil {
					return err
				}
			}
			bar := newProgressBar(c.Stderr, c.isTerminalErr())
			progress := func(p portable.Progress) {
				label := "importing"
				if dryRun {
					label = "checking"
				}
				bar.update(agent.PullProgress{Status: label, Total: p.TotalBytes, Completed: p.Bytes})
			}
			var sum portable.Summary
			var err error
			var users importers.PersonsMessages
			local := func(v *memory.Vault) error {
				var err error
				sum, _, err = importers.ImportFile(ctx, v, path, importers.FileOptions{
					Options:    importers.Options{Format: format, Identities: ids},
					Import:     portable.Options{DryRun: dryRun, Progress: progress},
					JournalDir: filepath.Join(c.HomeDir, "imports"),
					Observe:    users.Observe,
				})
				return err
			}
			var sess *owner.Session
			oc, owned := c.ownerClient()
			switch {
			case extract && !dryRun && !owned:
				// Extraction needs the agent: this process opens the vault
				// once for both steps.
				if sess, err = c.OpenRuntime(ctx); err != nil {
					return err
				}
				defer sess.Close(context.WithoutCancel(ctx))
				err = local(sess.Vault)
			case owned:
				sum, err = oc.importFile(ctx, path, importRequest{Format: format, DryRun: dryRun, Passphrase: pass, Identity: bf.identity}, progress)
			default:
				err = c.withVault(ctx, local)
			}
			bar.done()
			if asJSON && (err == nil || sum.Records > 0) {
				writeJSONLine(c.Stdout, sum)
			} else if sum.Records > 0 || len(sum.Skipped) > 0 {
				c.printImportSummary(sum, format)
			}
			if errors.Is(err, context.Canceled) {
				return errors.New("import stopped: what was imported so far is kept; run the same command again to resume")
			}
			if err != nil || !extract || dryRun {
				return err
			}
			if owned {
				mine, err := walkUserMessages(ctx, path, importers.Options{Format: format, Identities: ids})
				if err != nil {
					return fmt.Errorf("read the import again for your messages: %w", err)
				}
				return c.extractFromImport(ctx, oc.api, model, mine, false)
			}
			if model, err = sess.DefaultModel(ctx, model); err != nil {
				return err
			}
			return c.extractFromImport(ctx, c.inProcessExtractions(sess), model, users.IDs, true)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "", "the input's format (default: detected): "+strings.Join(importers.Formats, ", "))
	fl.BoolVar(&dryRun, "dry-run", false, "say what would be imported and skipped; write nothing")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	fl.BoolVar(&extract, "extract", false, "then have the model extract memories from your imported messages (slow for a long history; resumable)")
	fl.StringVar(&model, "model", "", "the model for --extract (default: the default model)")
	fl.StringVar(&bf.passFile, "bundle-passphrase-file", "", "read the bundle's passphrase from this file")
	fl.StringVar(&bf.identity, "identity", "", "open the bundle with the age secret keys in this file")
	cmd.AddCommand(c.importStatusCommand(), c.importCancelCommand())
	return cmd
}

func (c *cli) isTerminalErr() bool {
	f, ok := c.Stderr.(*os.File)
	return ok && owner.Terminal{In: f}.IsTerminal()
}

// bundleIdentities returns what opens a bundle: the keys of an identity
// file, or the passphrase (also returned as such, for the owner's API).
func (c *cli) bundleIdentities(bf bundleFlags) ([]age.Identity, string, error) {
	if bf.identity != "" {
		f, err := os.Open(bf.identity)
		if err != nil {
			return nil, "", fmt.Errorf("identity file: %w", err)
		}
		defer f.Close()
		ids, err := portable.KeyIdentities(f)
		return ids, "", err
	}
	var pass []byte
	var err error
	switch {
	case os.Getenv(envBundlePassphrase) != "":
		pass = []byte(os.Getenv(envBundlePassphrase))
	case bf.passFile != "":
		pass, err = owner.ReadPassphraseFile(bf.passFile, c.Stderr)
	case c.Term.IsTerminal():
		pass, err = c.Term.ReadSecret("Bundle passphrase: ")
	default:
		err = fmt.Errorf("the bundle needs its passphrase: set %s, pass --bundle-passphrase-file FILE, --identity KEYFILE, or run in a terminal to be asked", envBundlePassphrase)
	}
	if err != nil {
		return nil, "", err
	}
	id, err := portable.PassphraseIdentity(string(pass))
	return []age.Identity{id}, string(pass), err
}

func (c *cli) printImportSummary(s portable.Summary, format string) {
	w := c.Stderr
	verb := "Imported"
	if s.DryRun {
		verb = "Dry run, nothing written. Would import"
	}
	var parts []string
	forgets := 0
	for _, k := range []string{"conversation", "message", "memory", "feedback"} {
		if n := s.ByKind[k]; n.New+n.Updated > 0 {
			parts = append(parts, countOf(n.New+n.Updated, k))
		}
		forgets += s.ByKind[k].Deleted
	}
	if forgets > 0 {
		parts = append(parts, countOf(forgets, "forget"))
	}
	if len(parts) == 0 {
		parts = []string{"nothing new"}
	}
	fmt.Fprintf(w, "%s %s from %s (%d records read", verb, strings.Join(parts, ", "), format, s.Records)
	var unchanged int
	for _, n := range s.ByKind {
		unchanged += n.Unchanged
	}
	if unchanged > 0 {
		fmt.Fprintf(w, "; %d already in the vault", unchanged)
	}
	if s.Resumed > 0 {
		fmt.Fprintf(w, "; resumed after %d entries of an earlier run", s.Resumed)
	}
	fmt.Fprintln(w, ").")
	if u := s.InvalidUTF8; u != nil {
		fmt.Fprintf(w, "Not UTF-8: %s in %s, imported as U+FFFD (e.g. %s).\n", countOf(u.Sequences, "byte sequence"), countOf(u.Entries, "entry"), strings.Join(u.Example, ", "))
	}
	if n := s.SkippedCount(); n > 0 {
		fmt.Fprintf(w, "Skipped %d:\n", n)
		for _, k := range s.Skipped {
			fmt.Fprintf(w, "  %5d  %s", k.Count, k.Why)
			if len(k.Example) > 0 {
				fmt.Fprintf(w, " (e.g. %s)", k.Example[0])
			}
			fmt.Fprintln(w)
		}
	}
}
