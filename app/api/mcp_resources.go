package api

import (
	"context"
	"errors"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/cairnlabs/cairn/memory"
)

// mcpMemoryURI is the prefix of a memory's resource URI: cairn://memory/ID.
const mcpMemoryURI = "cairn://memory/"

// addResources makes memories readable as cairn://memory/{id} and lists
// the pinned ones. The SDK keeps a fixed list of resources, while pins
// change with every edit, so resources/list is answered from the vault by
// a middleware instead.
func (m *mcpMemory) addResources(srv *mcp.Server) {
	srv.AddResourceTemplate(&mcp.ResourceTemplate{
		Name:        "memory",
		Title:       "A memory",
		Description: "One of the person's memories, by id. The pinned ones are listed.",
		MIMEType:    "text/plain",
		URITemplate: mcpMemoryURI + "{id}",
	}, m.readResource)
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "resources/list" {
				return next(ctx, method, req)
			}
			return m.listPinned(ctx)
		}
	})
}

func (m *mcpMemory) listPinned(ctx context.Context) (*mcp.ListResourcesResult, error) {
	items, err := m.vault.List(ctx, memory.ListOptions{})
	if err != nil {
		return nil, mcpToolError(err)
	}
	out := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
	for _, it := range items {
		if !it.Pinned {
			continue
		}
		out.Resources = append(out.Resources, &mcp.Resource{
			URI:         mcpMemoryURI + it.ID,
			Name:        "memory-" + it.ID,
			Title:       mcpOneLine(it.Text, 60),
			Description: "A pinned " + string(it.Kind) + mcpTagList(it.Tags),
			MIMEType:    "text/plain",
			Size:        int64(len(it.Text)),
		})
	}
	return out, nil
}

func (m *mcpMemory) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	id, ok := strings.CutPrefix(uri, mcpMemoryURI)
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	it, err := m.vault.Get(ctx, id)
	if errors.Is(err, memory.ErrNotFound) {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	if err != nil {
		return nil, mcpToolError(err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: it.Text}}}, nil
}

// oneLine shortens s to at most n runes on one line, for titles.
func mcpOneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func mcpTagList(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return ", tagged " + strings.Join(tags, ", ")
}
