package api

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPIDocument builds the OpenAPI 3.1 document of the /api/v1 routes
// of the route table.
func openAPIDocument(routes []route) map[string]any {
	paths := map[string]map[string]any{}
	for _, op := range routes {
		method, path, _ := strings.Cut(op.pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		o := map[string]any{
			"summary":  op.summary,
			"security": []any{map[string]any{"bearer": []any{}}},
			"responses": map[string]any{
				"2XX":     map[string]any{"description": "success"},
				"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if op.stream {
			o["responses"].(map[string]any)["2XX"] = map[string]any{"description": "JSON, or Server-Sent Events when streaming", "content": map[string]any{"text/event-stream": map[string]any{}, "application/json": map[string]any{}}}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.fields != "" {
			props := map[string]any{}
			for _, f := range strings.Split(op.fields, ", ") {
				props[f] = map[string]any{}
			}
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object", "properties": props}}}}
		}
		paths[path][strings.ToLower(method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Cairn local API", "version": Version, "description": "Your memory, for your own scripts and agents. Every route but /healthz needs Authorization: Bearer TOKEN (`cairn token`); errors are {\"error\":{\"code\",\"message\"}}. The OpenAI-compatible API is under /v1, MCP at /mcp."},
		"servers": []any{map[string]any{"url": "http://127.0.0.1:7420"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{
				"type":     "object",
				"required": []any{"error"},
				"properties": map[string]any{"error": map[string]any{
					"type": "object", "required": []any{"code", "message"},
					"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}},
				}},
			}},
		},
	}
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, openAPIDocument(s.table))
	return nil
}
