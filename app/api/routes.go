package api

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// routesV1 registers the native REST routes.
func (s *Server) routesV1() {
	s.handle("GET /api/v1/status", ScopeMemoryRead, 0, s.status)
	s.handle("POST /api/v1/unlock", ScopeAdmin, smallBody, s.unlock)
	s.handle("POST /api/v1/recover", ScopeAdmin, smallBody, s.recoverVault)
	s.handle("POST /api/v1/lock", ScopeAdmin, 0, s.lock)

	s.handle("GET /api/v1/memories", ScopeMemoryRead, 0, s.listMemories)
	s.handle("POST /api/v1/memories", ScopeMemoryWrite, smallBody+memory.MaxTextBytes, s.addMemory)
	s.handle("GET /api/v1/memories/{id}", ScopeMemoryRead, 0, s.getMemory)
	s.handle("PATCH /api/v1/memories/{id}", ScopeMemoryWrite, smallBody+memory.MaxTextBytes, s.patchMemory)
	s.handle("DELETE /api/v1/memories/{id}", ScopeMemoryWrite, 0, s.deleteMemory)
	s.handle("GET /api/v1/memories/{id}/revisions", ScopeMemoryRead, 0, s.memoryRevisions)
	s.routesChat()
	s.routesRecall()
	s.routesGym()
	s.routesFeedback()
	s.routesGymTasks()
	s.routesApp()
	s.routesKeyring()
	s.routesData()
	s.routesSync()
	s.routesExtractions()
	s.routesProvenance()
	s.handle("GET /api/v1/openapi.json", ScopeMemoryRead, 0, s.openAPI)
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
			body.Search = &searchState{EmbeddingModel: st.Model, Embedded: st.Embedded, Total: st.Total, Semantic: st.Model != "" && st.LastError == "", LastError: st.LastError}
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
	if tok, _ := tokenFrom(r.Context()); tok.Session {
		s.browser.resume(tok.Hash)
	}
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
