package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/memory"
)

// MCPConfig wires an MCP server over the vault.
type MCPConfig struct {
	// Vault is open, locked or not; a locked vault makes every tool
	// answer with a tool error that says so.
	Vault *memory.Vault
	// Local marks a server the person runs themselves (`cairn mcp` over
	// stdio): every tool is allowed. Otherwise each call may do what the
	// scopes of the token that the HTTP layer checked allow.
	Local bool
	// Version is reported to clients.
	Version string
	Logger  *slog.Logger
}

// mcpInstructions tell the connected model what this server is for.
const mcpInstructions = `Cairn is the person's own long-term memory, kept encrypted on their devices.
Search it before answering questions about the person (search_memory), remember
lasting facts and preferences they state (add_memory), correct memories that
are wrong (update_memory) and hide ones they ask you to drop (forget_memory:
restorable for 30 days). Pinned memories are also resources.`

// NewMCP returns an MCP server whose tools and resources are the vault's
// memories. It is shared by the /mcp endpoint and `cairn mcp`.
func NewMCP(cfg MCPConfig) *mcp.Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = Version
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "cairn", Title: "Cairn memory", Version: cfg.Version}, &mcp.ServerOptions{
		Instructions: mcpInstructions,
		Logger:       cfg.Logger,
	})
	m := &mcpMemory{vault: cfg.Vault, local: cfg.Local}
	m.addTools(srv)
	m.addConversationTools(srv)
	m.addResources(srv)
	return srv
}

// mcpBody bounds one MCP request: a memory at its largest, JSON-escaped,
// with room to spare.
const mcpBody = 1 << 20

// routesMCP registers the MCP endpoint at /mcp: streamable HTTP, behind
// the same Host, Origin and token checks as every route, for tokens with
// memory:read. The write tools check memory:write per call, so a
// read-only token can search but not change anything.
func (s *Server) routesMCP() {
	// Made on the first request, which comes once the vault exists.
	srv := sync.OnceValue(func() *mcp.Server { return NewMCP(MCPConfig{Vault: s.cfg.Vault, Logger: s.log}) })
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv() }, &mcp.StreamableHTTPOptions{
		Logger:              s.log,
		SessionTimeout:      30 * time.Minute,
		MaxRequestBodyBytes: mcpBody,
	})
	// The SDK reads a request's scopes from its auth.TokenInfo, and binds
	// each session to the token (UserID) that opened it.
	withInfo := auth.RequireBearerToken(mcpTokenInfo, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})
	s.mux.Handle("/mcp", mcpScoped(ScopeMemoryRead, withInfo(h)))
}

// mcpScoped lets through requests whose token has scope, answering the
// others with the API's one error shape.
func mcpScoped(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := tokenFrom(r.Context())
		if !ok || !tok.Has(scope) {
			writeError(w, errorf(http.StatusForbidden, "forbidden", "this token lacks the "+scope+" scope: create one with `cairn token create NAME --scope "+scope+"`"))
			return
		}
		// As handle does: a POST (one message and its answer) or DELETE
		// gets the timeouts of any request; the GET event stream lasts as
		// long as the session and clears the write deadline an earlier
		// request on the connection left.
		rc := http.NewResponseController(w)
		if r.Method == http.MethodGet {
			_ = rc.SetWriteDeadline(time.Time{})
		} else {
			_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
			_ = rc.SetWriteDeadline(time.Now().Add(replyTimeout))
		}
		h.ServeHTTP(w, r)
	})
}

// mcpTokenInfo turns the token that Handler already checked into the
// SDK's TokenInfo. It reads the token from the context, not the header:
// the check was done once, in constant time.
func mcpTokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	tok, ok := tokenFrom(ctx)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{Scopes: tok.Scopes, UserID: tok.Hash}, nil
}

// mcpMemory is the vault as MCP tools and resources.
type mcpMemory struct {
	vault *memory.Vault
	local bool
}

// allow says why a call may not use scope, or nil when it may.
func (m *mcpMemory) allow(req *mcp.CallToolRequest, scope string) error {
	if m.local {
		return nil
	}
	if req.Extra != nil && req.Extra.TokenInfo != nil && (Token{Scopes: req.Extra.TokenInfo.Scopes}).Has(scope) {
		return nil
	}
	return errors.New("not allowed: this client's token lacks the " + scope + " scope, so nothing was changed. The person can give it one with `cairn token create NAME --scope " + ScopeMemoryRead + "," + scope + "`")
}

// toolError is what a tool says when the vault refuses: the vault's own
// message, with what to do next where that is not obvious.
func mcpToolError(err error) error {
	switch {
	case errors.Is(err, memory.ErrLocked):
		return errors.New("the vault is locked: the person must unlock it (POST /api/v1/unlock, or restart `cairn serve` with the passphrase)")
	case errors.Is(err, memory.ErrNotFound):
		return errors.New(err.Error() + ": search_memory or list_recent_memories show the ids")
	}
	return err
}
