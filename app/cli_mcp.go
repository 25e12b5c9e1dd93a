package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory"
)

// errMCPPassphrase: stdin carries the protocol, so there is no prompt.
var errMCPPassphrase = errors.New("cairn mcp speaks MCP on standard input, so it cannot ask for the vault's passphrase: " +
	"pass --passphrase-file FILE (`cairn mcp --passphrase-file ~/.config/cairn/passphrase`, a file only you can read), or set CAIRN_PASSPHRASE in the MCP client's env")

func (c *cli) mcpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve your memory to an MCP client (Claude Desktop, Cursor) over stdin and stdout",
		Long: `Serve this home's memory as an MCP server over standard input and output,
for MCP clients that start a process (Claude Desktop, Cursor, editors).

Tools: search_memory, list_recent_memories, add_memory, update_memory and
forget_memory (a soft forget: ` + "`cairn memory restore ID`" + ` undoes it for 30
days). Pinned memories are resources (cairn://memory/ID).

Standard input is the protocol, so the passphrase comes from
--passphrase-file FILE or $CAIRN_PASSPHRASE, never a prompt. The person
runs this command, so every tool is allowed; for a client that should only
read, use the HTTP endpoint of ` + "`cairn serve`" + ` (/mcp) with a token made by
` + "`cairn token create NAME --scope memory:read`" + `. Logs go to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serveMCP(cmd.Context(), &mcp.StdioTransport{})
		},
	}
}

// serveMCP opens the vault and serves MCP on t until the client hangs up
// or ctx ends.
func (c *cli) serveMCP(ctx context.Context, t mcp.Transport) error {
	if os.Getenv(envPassphrase) == "" && c.passFile == "" {
		return errMCPPassphrase
	}
	v, err := c.openMCPVault(ctx)
	if err != nil {
		return err
	}
	defer v.Close()
	var logger *slog.Logger // the SDK's own logs only when asked for
	if c.verbose {
		logger = slog.Default()
	}
	srv := api.NewMCP(api.MCPConfig{Vault: v, Local: true, Version: Version(), Logger: logger})
	slog.Info("serving MCP over stdio", "home", c.homeDir)
	err = srv.Run(ctx, t)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return fmt.Errorf("mcp: %w", err)
}

// openMCPVault opens the vault with the embedding model from the settings
// (semantic search, falling back to keywords when Ollama is away), as
// cairn serve does.
func (c *cli) openMCPVault(ctx context.Context) (*memory.Vault, error) {
	s, _, ollama, err := c.backendsOnly()
	if err != nil {
		return nil, err
	}
	var emb memory.Embedder
	if s.EmbeddingModel != "off" {
		emb = agent.NewEmbedder(ollama, s.EmbeddingModel)
	}
	v, err := c.openVaultWith(ctx, emb)
	if err != nil {
		return nil, err
	}
	// Memories a model forgot more than 30 days ago are erased for good.
	if n, err := v.PurgeForgotten(ctx, time.Now()); err != nil {
		slog.Warn("erasing memories forgotten over 30 days ago failed", "err", err)
	} else if n > 0 {
		slog.Info("erased memories a model forgot over 30 days ago", "count", n)
	}
	return v, nil
}
