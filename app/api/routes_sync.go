package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cairnlabs/cairn/sync"
)

// Syncer is what the sync routes need of the owner's sync node
// (*sync.Node).
type Syncer interface {
	Status(ctx context.Context) sync.Status
	Pair(ctx context.Context) (sync.Code, error)
	Join(ctx context.Context, code string) error
	Remove(ctx context.Context, device string) error
	Enable() error
	Subscribe() (<-chan sync.Event, func())
}

func (s *Server) routesSync() []route {
	return []route{
		{pattern: "GET /api/v1/sync", scope: ScopeAdmin, serve: s.syncStatus,
			summary: "Sync status: on or off, this device's peer id and addresses, trusted devices, each peer's progress, key epoch (admin)"},
		{pattern: "POST /api/v1/sync/pair", scope: ScopeAdmin, maxBody: smallBody, serve: s.syncPair,
			summary: "Open a pairing code (peer id, addresses, one-time secret; show it as text or QR) and the same invitation as a short code to read aloud (found by mDNS on the same network), good for 10 minutes and 5 tries; pairing completes in the background (admin)"},
		{pattern: "POST /api/v1/sync/join", scope: ScopeAdmin, maxBody: smallBody, serve: s.syncJoin,
			summary: "Pair with the device that showed code (the long code, or the short one on the same network): this device joins its vault, and the memories already here are kept and merged (admin)", fields: "code"},
		{pattern: "POST /api/v1/sync/enable", scope: ScopeAdmin, maxBody: smallBody, serve: s.syncEnable,
			summary: "Turn sync on without pairing: listen and announce on the LAN (admin)"},
		{pattern: "GET /api/v1/sync/devices", scope: ScopeAdmin, serve: s.syncDevices,
			summary: "The trusted devices (admin)"},
		{pattern: "DELETE /api/v1/sync/devices/{peer}", scope: ScopeAdmin, serve: s.syncRemove,
			summary: "Remove a device (peer id or name): every peer stops talking to it and the vault key rotates (admin)"},
		{pattern: "GET /api/v1/sync/events", scope: ScopeAdmin, stream: true, serve: s.syncEvents,
			summary: "Server-Sent Events of sync progress: connected, sent, received, caught_up, paired, removed, dropped, refused (admin)"},
	}
}

var errNoSync = errorf(http.StatusServiceUnavailable, "sync_off", "sync does not run in this process (a cairn serve or desktop app built without it?)")

func (s *Server) syncer() (Syncer, error) {
	if s.cfg.Sync == nil {
		return nil, errNoSync
	}
	return s.cfg.Sync, nil
}

func (s *Server) syncStatus(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sy.Status(r.Context()))
	return nil
}

// PairBody is the answer to POST /api/v1/sync/pair.
type PairBody struct {
	// Code is what the other device types or scans (cairn sync join CODE);
	// it is upper-case base32, fit for a QR code's alphanumeric mode.
	Code string `json:"code"`
	// Short is the same invitation as a short code to read aloud
	// (7K3M-9QXA), for a device on the same network: it finds this one by
	// mDNS. Across networks the long code is the way.
	Short     string    `json:"short"`
	Peer      string    `json:"peer"`
	Addrs     []string  `json:"addrs"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) syncPair(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	c, err := sy.Pair(r.Context())
	if err != nil {
		return err
	}
	out := PairBody{Code: c.String(), Short: sync.FormatShortCode(c.Short), Peer: c.Peer.String(), ExpiresAt: c.Expires.UTC()}
	for _, a := range c.Addrs {
		out.Addrs = append(out.Addrs, a.String())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) syncJoin(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if err := sy.Join(r.Context(), in.Code); err != nil {
		if errors.Is(err, sync.ErrWrongSecret) || errors.Is(err, sync.ErrNoInvite) || errors.Is(err, sync.ErrWrongShortCode) {
			return errorf(http.StatusForbidden, "pairing_refused", err.Error())
		}
		if errors.Is(err, sync.ErrNoShortCodePeer) {
			return errorf(http.StatusNotFound, "no_device_found", err.Error())
		}
		return errorf(http.StatusBadGateway, "pairing_failed", err.Error())
	}
	writeJSON(w, http.StatusOK, sy.Status(r.Context()))
	return nil
}

func (s *Server) syncEnable(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	if err := sy.Enable(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sy.Status(r.Context()))
	return nil
}

func (s *Server) syncDevices(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	st := sy.Status(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"devices": st.Members, "self": st.Peer})
	return nil
}

func (s *Server) syncRemove(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	if err := sy.Remove(r.Context(), r.PathValue("peer")); err != nil {
		return errorf(http.StatusBadRequest, "invalid", err.Error())
	}
	writeJSON(w, http.StatusOK, sy.Status(r.Context()))
	return nil
}

func (s *Server) syncEvents(w http.ResponseWriter, r *http.Request) error {
	sy, err := s.syncer()
	if err != nil {
		return err
	}
	events, cancel := sy.Subscribe()
	defer cancel()
	rc := http.NewResponseController(w)
	flush := func() {
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.log.Debug("flush sync events", "err", err)
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": cairn sync events\n\n")
	flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case e := <-events:
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b)
		}
		flush()
	}
}
