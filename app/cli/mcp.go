package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// errMCPPassphrase: stdin carries the protocol, so there is no prompt.
var errMCPPassphrase = errors.New("cairn mcp speaks MCP on standard input, so it cannot ask for the vault's passphrase (and no cairn serve or desktop app owns this home to go through): " +
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

While cairn serve or the desktop app owns the home, cairn mcp goes through
it and needs no passphrase. Otherwise it opens the vault itself, and as
standard input is the protocol, the passphrase comes from --passphrase-file
FILE or $CAIRN_PASSPHRASE, never a prompt. The person
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
	if oc, ok := c.ownerClient(); ok {
		return c.bridgeMCP(ctx, oc, t)
	}
	if os.Getenv(owner.EnvPassphrase) == "" && c.PassFile == "" {
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
	srv := api.NewMCP(api.MCPConfig{Vault: v, Local: true, Version: owner.Version(), Logger: logger})
	slog.Info("serving MCP over stdio", "home", c.HomeDir)
	return mcpEnded(srv.Run(ctx, t))
}

// openMCPVault opens the vault with the embedding model from the settings
// (semantic search, falling back to keywords when Ollama is away), as
// cairn serve does.
func (c *cli) openMCPVault(ctx context.Context) (*memory.Vault, error) {
	v, err := c.openSemanticVault(ctx)
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

// bridgeMCP serves, on t, the MCP endpoint of the process that owns the
// home (cairn serve, the desktop app), with the home's own token: no
// passphrase is needed, and the owner's events and indexes see every
// change at once, as with the memory commands.
func (c *cli) bridgeMCP(ctx context.Context, oc *ownerClient, t mcp.Transport) error {
	client := mcp.NewClient(&mcp.Implementation{Name: "cairn-mcp", Version: owner.Version()}, nil)
	remote, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   oc.base.JoinPath("mcp").String(),
		HTTPClient: &http.Client{Transport: mcpBearer(oc.token)},
	}, nil)
	if err != nil {
		return fmt.Errorf("the cairn process serving this home (pid %d, %s) did not answer on /mcp: %w", oc.owner.PID, oc.owner.URL, err)
	}
	defer remote.Close()
	slog.Info("serving MCP over stdio through the home's owner", "pid", oc.owner.PID, "url", oc.owner.URL)
	init := remote.InitializeResult()
	srv := mcp.NewServer(init.ServerInfo, &mcp.ServerOptions{Instructions: init.Instructions})
	for tool, err := range remote.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list the owner's MCP tools: %w", err)
		}
		srv.AddTool(tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return remote.CallTool(ctx, &mcp.CallToolParams{Name: req.Params.Name, Arguments: req.Params.Arguments})
		})
	}
	for tmpl, err := range remote.ResourceTemplates(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list the owner's MCP resources: %w", err)
		}
		srv.AddResourceTemplate(tmpl, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return remote.ReadResource(ctx, &mcp.ReadResourceParams{URI: req.Params.URI})
		})
	}
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "resources/list" {
				return next(ctx, method, req)
			}
			// Only the cursor crosses: the _meta of this side's protocol
			// version is not the owner's.
			var cursor string
			if p, ok := req.GetParams().(*mcp.ListResourcesParams); ok && p != nil {
				cursor = p.Cursor
			}
			return remote.ListResources(ctx, &mcp.ListResourcesParams{Cursor: cursor})
		}
	})
	return mcpEnded(srv.Run(ctx, t))
}

// mcpBearer adds the token to every request to the owner.
type mcpBearer string

func (b mcpBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// mcpEnded is nil when the client hung up or the command was stopped.
func mcpEnded(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return fmt.Errorf("mcp: %w", err)
}
