package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/gym"
)

// routesGym registers the gym routes: the gyms the person added, the
// review of what would be sent (exact bytes), approval item by item, the
// outbox, receipts and revocations, and the person's own datasets. All
// need the admin scope: they read conversations and send them away.
func (s *Server) routesGym() []route {
	return []route{
		{pattern: "GET /api/v1/gym/gyms", scope: ScopeAdmin, firstRun: true, serve: s.listGyms,
			summary: "The gyms the person added (none by default), with their manifests and this person's pseudonymous key for each (admin)"},
		{pattern: "POST /api/v1/gym/gyms", scope: ScopeAdmin, firstRun: true, maxBody: smallBody, serve: s.addGym,
			summary: "Add a gym by address (http(s) URL or libp2p multiaddr with /p2p/ID): fetches and checks its signed manifest, makes a key for it; sends nothing else (admin)", fields: "address"},
		{pattern: "DELETE /api/v1/gym/gyms/{id}", scope: ScopeAdmin, firstRun: true, serve: s.removeGym,
			summary: "Forget a gym, its key and its unsent outbox; receipts stay (admin)"},
		{pattern: "GET /api/v1/gym/gyms/{id}/review", scope: ScopeAdmin, serve: s.reviewGym,
			summary: "Items up for review for a gym (format= to filter): each redacted, with its hash and its exact bytes as they would be signed and sent (admin)"},
		{pattern: "POST /api/v1/gym/gyms/{id}/approve", scope: ScopeAdmin, maxBody: smallBody, serve: s.approveGym,
			summary: "Approve items by hash (and decline others) under the gym's licence, which accept_license must name; approved items are signed into the outbox and sent unless send is false (admin)", fields: "approve, decline, accept_license, send"},
		{pattern: "GET /api/v1/gym/gyms/{id}/receipts", scope: ScopeAdmin, firstRun: true, serve: s.gymReceipts,
			summary: "The gym's signed receipts: what it did with each item, by hash (admin)"},
		{pattern: "POST /api/v1/gym/gyms/{id}/revoke", scope: ScopeAdmin, firstRun: true, maxBody: smallBody, serve: s.revokeGym,
			summary: "Withdraw items from a gym by hash: a revocation signed with this person's key for it, sent at once (admin)", fields: "items"},
		{pattern: "GET /api/v1/gym/outbox", scope: ScopeAdmin, firstRun: true, serve: s.gymOutbox,
			summary: "Approved contributions and revocations, delivered or waiting (admin)"},
		{pattern: "POST /api/v1/gym/outbox/send", scope: ScopeAdmin, firstRun: true, serve: s.sendGymOutbox,
			summary: "Send what waits in the outbox now (admin)"},
		{pattern: "GET /api/v1/gym/dataset", scope: ScopeAdmin, serve: s.gymDataset,
			summary: "The person's feedback as TRL JSONL (format=sft|dpo|kto, redact=1 to redact), for their own fine-tuning (admin)"},
	}
}

func (s *Server) gym() (*gym.Contributor, error) {
	if s.cfg.Gym == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no_gym", "this server runs without gym support")
	}
	return s.cfg.Gym, nil
}

func gymError(err error) error {
	var ref *gym.Refusal
	switch {
	case errors.Is(err, gym.ErrNoGym):
		return errorf(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, gym.ErrLicense):
		return errorf(http.StatusBadRequest, "license", err.Error())
	case errors.As(err, &ref):
		return errorf(http.StatusBadGateway, "gym_refused", err.Error())
	}
	return err
}

func (s *Server) gymByPath(r *http.Request) (*gym.Contributor, gym.GymInfo, error) {
	gc, err := s.gym()
	if err != nil {
		return nil, gym.GymInfo{}, err
	}
	g, err := gc.Gym(r.Context(), r.PathValue("id"))
	return gc, g, gymError(err)
}

func (s *Server) listGyms(w http.ResponseWriter, r *http.Request) error {
	gc, err := s.gym()
	if err != nil {
		return err
	}
	gyms, err := gc.Gyms(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.GymList{Gyms: gyms})
	return nil
}

func (s *Server) addGym(w http.ResponseWriter, r *http.Request) error {
	gc, err := s.gym()
	if err != nil {
		return err
	}
	var in apitype.GymAddress
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Address) == "" {
		return errorf(http.StatusBadRequest, "invalid", "address is missing: send {\"address\": \"https://gym.example\"}")
	}
	g, err := gc.AddGym(r.Context(), in.Address)
	if err != nil {
		return errorf(http.StatusBadGateway, "gym_unreachable", err.Error())
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Server) removeGym(w http.ResponseWriter, r *http.Request) error {
	gc, err := s.gym()
	if err != nil {
		return err
	}
	if err := gc.RemoveGym(r.Context(), r.PathValue("id")); err != nil {
		return gymError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func formatsOf(r *http.Request) ([]gym.Format, error) {
	f := r.URL.Query().Get("format")
	if f == "" {
		return nil, nil
	}
	pf, err := gym.ParseFormat(f)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid", err.Error())
	}
	return []gym.Format{pf}, nil
}

func (s *Server) reviewGym(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	formats, err := formatsOf(r)
	if err != nil {
		return err
	}
	cands, err := gc.Candidates(r.Context(), s.cfg.Vault, &g, formats...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.GymReview{Gym: g.ID, Name: g.Manifest.Name, License: g.Manifest.License, Items: cands})
	return nil
}

func (s *Server) approveGym(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	var in apitype.GymDecision
	if err := readJSON(r, &in); err != nil {
		return err
	}
	// The items are rebuilt from the vault: only what review shows, with
	// the same bytes and hashes, can be approved.
	cands, err := gc.Candidates(r.Context(), s.cfg.Vault, &g)
	if err != nil {
		return err
	}
	pick := func(hashes []string) ([]gym.Candidate, error) {
		var out []gym.Candidate
		for _, h := range hashes {
			i := slices.IndexFunc(cands, func(c gym.Candidate) bool { return c.Hash == h })
			if i < 0 {
				return nil, errorf(http.StatusNotFound, "not_found", "item "+h+" is not up for review for this gym (reviewed already, or the feedback changed): GET …/review lists them")
			}
			out = append(out, cands[i])
		}
		return out, nil
	}
	approved, err := pick(in.Approve)
	if err != nil {
		return err
	}
	declined, err := pick(in.Decline)
	if err != nil {
		return err
	}
	var envelopes []string
	if len(approved) > 0 {
		if envelopes, err = gc.Approve(r.Context(), g, approved, in.AcceptLicense); err != nil {
			return gymError(err)
		}
	}
	if err := gc.Decline(r.Context(), g, hashes(declined)); err != nil {
		return err
	}
	out := apitype.GymDecided{Envelopes: envelopes, Approved: len(approved), Declined: len(declined)}
	if len(approved) > 0 && (in.Send == nil || *in.Send) {
		rep, err := gc.Send(r.Context(), true)
		if err != nil {
			return err
		}
		out.Sent = &rep
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func hashes(cs []gym.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Hash
	}
	return out
}

func (s *Server) gymReceipts(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	recs, err := gc.Receipts(r.Context(), g)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.GymReceipts{Receipts: recs})
	return nil
}

func (s *Server) revokeGym(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	var in apitype.GymRevocation
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if len(in.Items) == 0 {
		return errorf(http.StatusBadRequest, "invalid", "items is missing: the hashes to withdraw")
	}
	id, err := gc.Revoke(r.Context(), g, in.Items)
	if err != nil {
		return err
	}
	rep, err := gc.Send(r.Context(), true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.GymRevoked{Revocation: id, Sent: rep})
	return nil
}

func (s *Server) gymOutbox(w http.ResponseWriter, r *http.Request) error {
	gc, err := s.gym()
	if err != nil {
		return err
	}
	entries, err := gc.Outbox(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.GymOutbox{Outbox: entries})
	return nil
}

func (s *Server) sendGymOutbox(w http.ResponseWriter, r *http.Request) error {
	gc, err := s.gym()
	if err != nil {
		return err
	}
	rep, err := gc.Send(r.Context(), true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) gymDataset(w http.ResponseWriter, r *http.Request) error {
	formats, err := formatsOf(r)
	if err != nil {
		return err
	}
	f := gym.SFT
	if len(formats) > 0 {
		f = formats[0]
	}
	exs, err := gym.Examples(r.Context(), s.cfg.Vault, f)
	if err != nil {
		return err
	}
	var red *gym.Redactor
	if q := r.URL.Query().Get("redact"); q == "1" || q == "true" {
		known, err := gym.KnownFromVault(r.Context(), s.cfg.Vault)
		if err != nil {
			return err
		}
		red = gym.NewRedactor(known)
	}
	items := make([]gym.Item, 0, len(exs))
	for _, ex := range exs {
		if red != nil {
			ex.Item = red.Item(ex.Item)
		}
		items = append(items, ex.Item)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="cairn-`+string(f)+`.jsonl"`)
	return gym.WriteJSONL(w, items)
}
