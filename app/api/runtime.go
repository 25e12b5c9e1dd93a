package api

import (
	"net/http"
	"strings"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
)

// Runtime is what the data routes serve over: the vault, the agent and the
// model backends over it, and sync. A server made with a vault has it from
// the start; a first-run server (Config.App set, Config.Vault nil) gets it
// when the person creates the vault, and from then on the same server, on
// the same listener, serves every route.
type Runtime struct {
	Vault    *memory.Vault
	Agent    *agent.Agent
	Backends *agent.Backends
	// Sync is the owner's sync node; nil keeps the server's.
	Sync Syncer
}

// setRuntime gives the server its runtime, once. The handlers read it
// from s.cfg: those fields are written here, before rt publishes them,
// and every request that may read them loads rt first (firstRun, and the
// gate in Handler and InProcess), so each such read follows this write.
func (s *Server) setRuntime(rt *Runtime) {
	s.cfg.Vault, s.cfg.Agent, s.cfg.Backends = rt.Vault, rt.Agent, rt.Backends
	if rt.Sync != nil {
		s.cfg.Sync = rt.Sync
	}
	s.newExtractions()
	s.rt.Store(rt)
}

// firstRun reports whether this server still waits for a vault.
func (s *Server) firstRun() bool { return s.rt.Load() == nil }

// waitsForVault answers a request that needs the vault on a first-run
// server, and reports whether it did: the routes of routesApp answer
// before there is a vault, the others once it is created.
func (s *Server) waitsForVault(w http.ResponseWriter, r *http.Request) bool {
	if !s.firstRun() {
		return false
	}
	if _, pattern := s.mux.Handler(r); s.firstRunRoutes[pattern] {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, errorf(http.StatusConflict, "no_vault", "there is no vault yet: create one (POST /api/v1/vault, or `cairn init`)"))
		return true
	}
	http.NotFound(w, r)
	return true
}
