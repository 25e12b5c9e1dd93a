package api

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// routes is the API's route table: every route, declared once (route.go).
func (s *Server) routes() []route {
	return slices.Concat(s.routesApp(), s.routesV1(), s.routesChat(), s.routesPrepare(), s.routesRecall(), s.routesGym(), s.routesFeedback(),
		s.routesGymTasks(), s.routesKeyring(), s.routesData(), s.routesSync(), s.routesExtractions(), s.routesProvenance(), s.routesOpenAI())
}

// routesV1 are the status, the lock and the memories.
func (s *Server) routesV1() []route {
	return []route{
		{pattern: "GET /api/v1/status", scope: ScopeMemoryRead, whileLocked: true, serve: s.status,
			summary: "Whether the vault is locked, which backends answer and receive memory, how far embedding has got (memories and past messages), versions"},
		{pattern: "POST /api/v1/unlock", scope: ScopeAdmin, maxBody: smallBody, whileLocked: true, serve: s.unlock,
			summary: "Unlock the vault (admin)", fields: "passphrase"},
		{pattern: "POST /api/v1/recover", scope: ScopeAdmin, maxBody: smallBody, whileLocked: true, serve: s.recoverVault,
			summary: "Set a new passphrase with the recovery key, and unlock (admin)", fields: "recovery_key, new_passphrase"},
		{pattern: "POST /api/v1/lock", scope: ScopeAdmin, serve: s.lock,
			summary: "Lock the vault (admin)"},

		{pattern: "GET /api/v1/memories", scope: ScopeMemoryRead, serve: s.listMemories,
			summary: "List memories, or search them with q (hybrid; mode=keyword|vector), filtered by kind and tag, up to limit (1-1000, default 50; 0 lists all when there is no q)"},
		{pattern: "POST /api/v1/memories", scope: ScopeMemoryWrite, maxBody: smallBody + memory.MaxTextBytes, serve: s.addMemory,
			summary: "Add a memory", fields: "text, kind, tags, pinned"},
		{pattern: "GET /api/v1/memories/{id}", scope: ScopeMemoryRead, serve: s.getMemory,
			summary: "One memory"},
		{pattern: "PATCH /api/v1/memories/{id}", scope: ScopeMemoryWrite, maxBody: smallBody + memory.MaxTextBytes, serve: s.patchMemory,
			summary: "Change a memory; the old version is kept as a revision", fields: "text, kind, tags, pinned"},
		{pattern: "DELETE /api/v1/memories/{id}", scope: ScopeMemoryWrite, serve: s.deleteMemory,
			summary: "Forget a memory for good, with its revisions, on every device"},
		{pattern: "GET /api/v1/memories/{id}/revisions", scope: ScopeMemoryRead, serve: s.memoryRevisions,
			summary: "Earlier versions of a memory, oldest first"},
		{pattern: "GET /api/v1/memories/forgotten", scope: ScopeMemoryRead, serve: s.forgottenMemories,
			summary: "Memories a model or an API client forgot (soft): hidden, restorable for 30 days after forgotten_at, most recently forgotten first"},
		{pattern: "POST /api/v1/memories/{id}/restore", scope: ScopeMemoryWrite, serve: s.restoreMemory,
			summary: "Bring back a memory a model or an API client forgot"},
		{pattern: "GET /api/v1/openapi.json", scope: ScopeMemoryRead, serve: s.openAPI,
			summary: "This document"},
	}
}

type statusBody struct {
	Version  string                `json:"version"`
	Go       string                `json:"go"`
	SQLite   string                `json:"sqlite"`
	Locked   bool                  `json:"locked"`
	Vault    string                `json:"vault_id,omitempty"`
	Backends []agent.BackendStatus `json:"backends"`
	Search   *searchState          `json:"search,omitempty"`
}

type searchState struct {
	EmbeddingModel string `json:"embedding_model,omitempty"`
	Embedded       int    `json:"embedded"`
	Total          int    `json:"total"`
	// MessagesEmbedded of MessagesTotal past messages have passage vectors.
	MessagesEmbedded int `json:"messages_embedded"`
	MessagesTotal    int `json:"messages_total"`
	// Semantic is false when search runs on keywords alone.
	Semantic  bool   `json:"semantic"`
	LastError string `json:"last_error,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	v := s.cfg.Vault
	body := statusBody{Version: Version, Go: runtime.Version(), SQLite: memory.SQLiteVersion(), Locked: v.Locked()}
	if !body.Locked {
		body.Vault = v.ID()
		if st, err := v.EmbeddingStatus(r.Context()); err == nil {
			body.Search = &searchState{EmbeddingModel: st.Model, Embedded: st.Embedded, Total: st.Total, MessagesEmbedded: st.MessagesEmbedded, MessagesTotal: st.MessagesTotal, Semantic: st.Model != "" && st.LastError == "", LastError: st.LastError}
		}
	}
	if s.cfg.Backends != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		body.Backends = s.cfg.Backends.Status(ctx)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Passphrase string `json:"passphrase"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if !s.cfg.Vault.Locked() {
		writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
		return nil
	}
	if err := s.cfg.Vault.Unlock(r.Context(), []byte(in.Passphrase)); err != nil {
		return err
	}
	s.embedPastMessages()
	if tok, _ := tokenFrom(r.Context()); tok.Session {
		s.browser.resume(tok.Hash)
	}
	s.resumeExtractions(context.WithoutCancel(r.Context()))
	s.resumeExtractions(context.WithoutCancel(r.Context()))
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
	return nil
}

func (s *Server) lock(w http.ResponseWriter, r *http.Request) error {
	s.cfg.Vault.Lock()
	// A session left open in a tab can do nothing more without the
	// passphrase (login.go).
	s.browser.suspend()
	writeJSON(w, http.StatusOK, map[string]bool{"locked": true})
	return nil
}
