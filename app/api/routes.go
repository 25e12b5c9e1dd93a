package api

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"strings"
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
	s.routesGym()
	s.routesApp()
	s.routesKeyring()
	s.routesData()
	s.routesSync()
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
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
	return nil
}

func (s *Server) lock(w http.ResponseWriter, r *http.Request) error {
	s.cfg.Vault.Lock()
	writeJSON(w, http.StatusOK, map[string]bool{"locked": true})
	return nil
}

// memoryBody is a memory on the wire.
type memoryBody struct {
	memory.Item
	Score   *float64 `json:"score,omitempty"`
	Snippet string   `json:"snippet,omitempty"`
}

func (s *Server) listMemories(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return errorf(http.StatusBadRequest, "invalid", "limit must be a number from 1 to 1000")
		}
		limit = n
	}
	kind := memory.ItemKind(q.Get("kind"))
	tag := q.Get("tag")
	out := []memoryBody{}
	if text := strings.TrimSpace(q.Get("q")); text != "" {
		mode := memory.Mode(q.Get("mode"))
		res, err := s.cfg.Vault.Search(r.Context(), memory.Query{Text: text, Limit: limit, Mode: mode, Kind: kind, Tag: tag})
		if err != nil {
			return err
		}
		for _, x := range res {
			score := x.Score
			out = append(out, memoryBody{Item: x.Item, Score: &score, Snippet: x.Snippet})
		}
	} else {
		items, err := s.cfg.Vault.List(r.Context(), memory.ListOptions{Kind: kind, Tag: tag, Limit: limit})
		if err != nil {
			return err
		}
		for _, it := range items {
			out = append(out, memoryBody{Item: it})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"memories": out})
	return nil
}

type memoryInput struct {
	Kind   *memory.ItemKind `json:"kind"`
	Text   *string          `json:"text"`
	Tags   *[]string        `json:"tags"`
	Pinned *bool            `json:"pinned"`
}

func (s *Server) addMemory(w http.ResponseWriter, r *http.Request) error {
	var in memoryInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n := memory.NewItem{Source: memory.SourceManual}
	if in.Text == nil {
		return errorf(http.StatusBadRequest, "invalid", "text is missing: send {\"text\": \"...\"}")
	}
	n.Text = *in.Text
	if in.Kind != nil {
		n.Kind = *in.Kind
	}
	if in.Tags != nil {
		n.Tags = *in.Tags
	}
	if in.Pinned != nil {
		n.Pinned = *in.Pinned
	}
	it, err := s.cfg.Vault.Add(r.Context(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/memories/"+it.ID)
	writeJSON(w, http.StatusCreated, it)
	return nil
}

func (s *Server) getMemory(w http.ResponseWriter, r *http.Request) error {
	it, err := s.cfg.Vault.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) patchMemory(w http.ResponseWriter, r *http.Request) error {
	var in memoryInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	it, err := s.cfg.Vault.Edit(r.Context(), r.PathValue("id"), memory.Patch{Kind: in.Kind, Text: in.Text, Tags: in.Tags, Pinned: in.Pinned})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) deleteMemory(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Vault.Forget(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) memoryRevisions(w http.ResponseWriter, r *http.Request) error {
	revs, err := s.cfg.Vault.Revisions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revisions": revs})
	return nil
}
