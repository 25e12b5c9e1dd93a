package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// check is one line of `cairn doctor`.
type check struct {
	name   string
	status string // ok, warn, fail
	detail string
	fix    string
}

func (c *cli) doctorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the vault, Ollama and the desktop libraries, with a fix for each problem",
		Long: `Check what Cairn needs and say how to fix what is missing. The vault is
opened only when its passphrase is given without a prompt ($CAIRN_PASSPHRASE
or --passphrase-file). Exits non-zero when something needs fixing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			checks := []check{c.checkVault(ctx), checkOllama(ctx)}
			checks = append(checks, c.checkModels(ctx)...)
			checks = append(checks, checkDesktop())
			failed := 0
			for _, ch := range checks {
				fmt.Fprintf(c.Stdout, "%-4s  %-8s  %s\n", ch.status, ch.name, ch.detail)
				if ch.fix != "" {
					fmt.Fprintf(c.Stdout, "                fix: %s\n", ch.fix)
				}
				if ch.status == "fail" {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d checks failed; see the fixes above", failed, len(checks))
			}
			return nil
		},
	}
}

func (c *cli) checkVault(ctx context.Context) check {
	h := c.Home()
	ch := check{name: "vault"}
	if !h.HasVault() {
		ch.status, ch.detail, ch.fix = "fail", "no vault in "+h.Dir, "run `cairn init` (or pass --home to the folder that holds your vault)"
		return ch
	}
	if os.Getenv(owner.EnvPassphrase) == "" && c.PassFile == "" {
		ch.status, ch.detail = "ok", fmt.Sprintf("%s (locked; give the passphrase by $CAIRN_PASSPHRASE or --passphrase-file to check its records)", h.VaultPath())
		return ch
	}
	v, err := c.OpenVault(ctx)
	if err != nil {
		ch.status, ch.detail = "fail", explain(err)
		return ch
	}
	defer v.Close()
	items, err := v.List(ctx, memory.ListOptions{})
	if err != nil {
		ch.status, ch.detail = "fail", err.Error()
		return ch
	}
	bad, err := v.Verify(ctx)
	if err != nil {
		ch.status, ch.detail = "fail", err.Error()
		return ch
	}
	if len(bad) > 0 {
		ch.status = "fail"
		ch.detail = fmt.Sprintf("%d records failed their integrity check (first: %v); the rest read fine", len(bad), bad[0])
		ch.fix = "restore those records from another device or a backup; `cairn memory list` shows what still reads"
		return ch
	}
	ch.status, ch.detail = "ok", fmt.Sprintf("%s opens; %s, all intact", h.VaultPath(), countOf(len(items), "memory"))
	return ch
}

func checkOllama(ctx context.Context) check {
	ch := check{name: "ollama"}
	u, err := agent.OllamaURL(os.Getenv("OLLAMA_HOST"))
	if err != nil {
		ch.status, ch.detail, ch.fix = "fail", err.Error(), "set OLLAMA_HOST to host:port, e.g. 127.0.0.1:11434"
		return ch
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	version, err := agent.NewOllama("ollama", u).Version(ctx)
	if err != nil {
		ch.status = "fail"
		ch.detail = fmt.Sprintf("not reachable at %s (%v)", u, rootCause(err))
		ch.fix = "install Ollama (https://ollama.com/download) and start it with `ollama serve`; if it runs elsewhere, set OLLAMA_HOST"
		return ch
	}
	ch.status, ch.detail = "ok", fmt.Sprintf("Ollama %s at %s", version, u)
	if !agent.IsLoopback(u) {
		ch.detail += " (another machine: memories go to it only with \"ollama_allow_memory\": true in settings.json)"
	}
	return ch
}

// checkModels says whether there is a model to chat with and whether
// semantic search works.
func (c *cli) checkModels(ctx context.Context) []check {
	chat := check{name: "models"}
	emb := check{name: "search"}
	s, bs, ollama, err := c.BackendsOnly()
	if err != nil {
		chat.status, chat.detail = "fail", err.Error()
		return []check{chat}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	models, err := ollama.Models(ctx)
	switch {
	case err != nil:
		chat.status, chat.detail = "warn", "cannot list models: Ollama is not running"
	case len(models) == 0:
		chat.status, chat.detail, chat.fix = "warn", "Ollama has no models yet", "`cairn pull llama3.2` (or any model from ollama.com/library)"
	case s.Model != "":
		chat.status, chat.detail = "ok", fmt.Sprintf("%s; default %s", countOf(len(models), "model"), s.Model)
		if b, name, rerr := bs.Resolve(s.Model); rerr != nil {
			chat.status, chat.detail = "fail", rerr.Error()
		} else if _, serr := b.Show(ctx, name); serr != nil {
			chat.status, chat.detail, chat.fix = "fail", serr.Error(), "`cairn models use NAME` with a model from `cairn models`"
		}
	default:
		chat.status, chat.detail = "ok", fmt.Sprintf("%s; no default set (`cairn models use NAME`)", countOf(len(models), "model"))
	}
	out := []check{chat}
	for _, b := range bs.Status(ctx)[1:] {
		line := check{name: b.Name, status: "ok", detail: fmt.Sprintf("%s, %s", b.URL, countOf(b.Models, "model"))}
		if b.Error != "" {
			line.status, line.detail = "warn", b.Error
		}
		if b.Remote {
			line.detail += map[bool]string{true: "; remote, receives memory (allowed)", false: "; remote, receives no memory"}[b.ReceivesMemory]
		}
		out = append(out, line)
	}
	if s.EmbeddingModel == "off" {
		emb.status, emb.detail = "ok", "keyword only (embedding_model is \"off\" in settings.json)"
		return append(out, emb)
	}
	e := agent.NewEmbedder(ollama, s.EmbeddingModel)
	if err := e.Check(ctx); err != nil {
		emb.status = "warn"
		emb.detail = "keyword only: semantic search needs the embedding model " + e.Model()
		if errors.Is(err, agent.ErrModelNotFound) {
			emb.fix = "`cairn pull " + e.Model() + "`"
		} else {
			emb.fix = "start Ollama (`ollama serve`)"
		}
		return append(out, emb)
	}
	emb.status, emb.detail = "ok", "semantic and keyword search, embeddings by "+e.Model()
	return append(out, emb)
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
