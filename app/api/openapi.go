package api

import (
	"net/http"
	"regexp"
	"strings"
)

// operation documents one route of /api/v1.
type operation struct {
	summary string
	// body names the request's JSON fields; empty for none.
	body string
	// stream says the response is Server-Sent Events.
	stream bool
}

// operations documents every /api/v1 route, by "METHOD PATH" as
// registered; a test holds it equal to the routes.
var operations = map[string]operation{
	"GET /api/v1/status":                    {summary: "Whether the vault is locked, which backends answer and receive memory, how far embedding has got, versions"},
	"POST /api/v1/unlock":                   {summary: "Unlock the vault (admin)", body: "passphrase"},
	"POST /api/v1/lock":                     {summary: "Lock the vault (admin)"},
	"GET /api/v1/memories":                  {summary: "List memories, or search them with q (hybrid; mode=keyword|vector), filtered by kind and tag, up to limit (1-1000, default 50; 0 lists all when there is no q)"},
	"POST /api/v1/memories":                 {summary: "Add a memory", body: "text, kind, tags, pinned"},
	"GET /api/v1/memories/{id}":             {summary: "One memory"},
	"PATCH /api/v1/memories/{id}":           {summary: "Change a memory; the old version is kept as a revision", body: "text, kind, tags, pinned"},
	"DELETE /api/v1/memories/{id}":          {summary: "Forget a memory for good, with its revisions, on every device"},
	"GET /api/v1/memories/{id}/revisions":   {summary: "Earlier versions of a memory, oldest first"},
	"GET /api/v1/conversations":             {summary: "Conversations, most recent first, up to limit (0 for all)"},
	"GET /api/v1/conversations/{id}":        {summary: "A conversation with every message of every branch (parent ids) and its head"},
	"PATCH /api/v1/conversations/{id}":      {summary: "Rename a conversation (conversations:write)", body: "title"},
	"DELETE /api/v1/conversations/{id}":     {summary: "Delete a conversation and its messages (conversations:write)"},
	"POST /api/v1/chat":                     {summary: "Send a message and get the reply (stream: true for Server-Sent Events: delta, done, error); parent_id of an earlier message edits into a new branch; root: true makes a new first message (editing the first one)", body: "conversation_id, parent_id, root, text, model, stream", stream: true},
	"POST /api/v1/messages/{id}/regenerate": {summary: "Answer the message before this reply again, as a new branch", body: "model, stream", stream: true},
	"POST /api/v1/messages/{id}/feedback":   {summary: "Rate a reply (1 or -1), comment on it, give the answer you wanted, or mark it preferred among its regenerations; kept in the vault", body: "rating, comment, correction, preferred"},
	"GET /api/v1/messages/{id}/feedback":    {summary: "Feedback on a reply, oldest first"},
	"GET /api/v1/models":                    {summary: "Models of every backend, and of your other paired devices as DEVICE/MODEL (device, offline: out of reach, as last seen); the other backends that did not answer are listed under unreachable"},
	"POST /api/v1/models/pull":              {summary: "Download a model into Ollama; progress as Server-Sent Events (admin)", body: "name, insecure", stream: true},
	"GET /api/v1/events":                    {summary: "Server-Sent Events for every change in the vault (memory, conversation, message, …), and \"extraction\" events with an extraction job's counts as it goes (unfinished jobs when the stream starts); Last-Event-ID resumes", stream: true},
	"GET /api/v1/openapi.json":              {summary: "This document"},
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPIDocument builds the OpenAPI 3.1 document from operations.
func openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	for key, op := range operations {
		method, path, _ := strings.Cut(key, " ")
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
		if op.body != "" {
			props := map[string]any{}
			for _, f := range strings.Split(op.body, ", ") {
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
	writeJSON(w, http.StatusOK, openAPIDocument())
	return nil
}
