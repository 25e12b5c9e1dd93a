package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// The memory routes: what `cairn memory` runs, through a running owner or
// in-process on the vault (app/client), and what the UI and scripts call.

func (s *Server) listMemories(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	limit := apitype.DefaultMemoryLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		switch {
		case err != nil || n < 0 || n > apitype.MaxMemoryLimit:
			return errorf(http.StatusBadRequest, apitype.CodeInvalid, "limit must be a number from 1 to "+strconv.Itoa(apitype.MaxMemoryLimit)+" (0 lists all memories)")
		case n == 0 && text != "":
			return errorf(http.StatusBadRequest, apitype.CodeInvalid, "a search needs a limit from 1 to "+strconv.Itoa(apitype.MaxMemoryLimit)+"; 0 (all) is for a listing without q")
		}
		limit = n
	}
	kind := memory.ItemKind(q.Get("kind"))
	tag := q.Get("tag")
	out := apitype.MemoryList{Memories: []apitype.Memory{}}
	if text != "" {
		res, err := s.cfg.Vault.Search(r.Context(), memory.Query{Text: text, Limit: limit, Mode: memory.Mode(q.Get("mode")), Kind: kind, Tag: tag})
		if err != nil {
			return err
		}
		for _, x := range res {
			score := x.Score
			out.Memories = append(out.Memories, apitype.Memory{Item: x.Item, Score: &score, Snippet: x.Snippet})
		}
	} else {
		items, err := s.cfg.Vault.List(r.Context(), memory.ListOptions{Kind: kind, Tag: tag, Limit: limit})
		if err != nil {
			return err
		}
		for _, it := range items {
			out.Memories = append(out.Memories, apitype.Memory{Item: it})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addMemory(w http.ResponseWriter, r *http.Request) error {
	var in apitype.MemoryInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n := memory.NewItem{Source: memory.SourceManual}
	if in.Text == nil {
		return errorf(http.StatusBadRequest, apitype.CodeInvalid, "text is missing: send {\"text\": \"...\"}")
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
	var in apitype.MemoryInput
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
	if !personal(r.Context()) {
		tok, _ := tokenFrom(r.Context())
		if _, err := s.cfg.Vault.SoftForget(r.Context(), r.PathValue("id"), "forgotten by the API client "+tok.Name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.cfg.Vault.Forget(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	// Clear the old bytes from the write-ahead log too; if another process
	// is reading, its next checkpoint does it.
	if err := s.cfg.Vault.Checkpoint(r.Context()); err != nil {
		s.log.Debug("checkpoint after a forget", "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) memoryRevisions(w http.ResponseWriter, r *http.Request) error {
	revs, err := s.cfg.Vault.Revisions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.Revisions{Revisions: revs})
	return nil
}

// forgottenMemories lists what a model (or an API client's soft forget)
// hid: restorable for memory.SoftForgetWindow, most recently forgotten
// first.
func (s *Server) forgottenMemories(w http.ResponseWriter, r *http.Request) error {
	items, err := s.cfg.Vault.Forgotten(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.ForgottenList{Memories: items})
	return nil
}

// restoreMemory brings back a soft-forgotten memory.
func (s *Server) restoreMemory(w http.ResponseWriter, r *http.Request) error {
	it, err := s.cfg.Vault.Restore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}
