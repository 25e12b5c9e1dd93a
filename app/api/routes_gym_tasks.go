package api

import (
	"net/http"
	"slices"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/gym"
)

// routesGymTasks registers the gym task routes the Tasks view uses: the
// tasks kept from a gym, fetching a batch, the review of what results
// would send (exact bytes) and their submission, which goes through the
// same licence gate, signature and outbox as feedback. Admin only, as
// every gym route: they send the person's work away.
func (s *Server) routesGymTasks() []route {
	return []route{
		{pattern: "GET /api/v1/gym/gyms/{id}/tasks", scope: ScopeAdmin, firstRun: true, serve: s.gymTasks,
			summary: "The gym's task sets (from its manifest) and the tasks fetched from it and not done yet; contacts nobody (admin)"},
		{pattern: "POST /api/v1/gym/gyms/{id}/tasks", scope: ScopeAdmin, firstRun: true, maxBody: smallBody, serve: s.fetchGymTasks,
			summary: "Fetch a signed batch of up to n tasks of a set from the gym (only the set is sent) and keep them; returns the tasks not done yet (admin)", fields: "set, n"},
		{pattern: "POST /api/v1/gym/gyms/{id}/tasks/review", scope: ScopeAdmin, firstRun: true, maxBody: smallBody, serve: s.reviewGymTasks,
			summary: "The items results would give (results: task, answer | choice (0-based) and reason | scores | labels), redacted, each with its hash and exact bytes as they would be signed and sent; sends nothing (admin)", fields: "results"},
		{pattern: "POST /api/v1/gym/gyms/{id}/tasks/submit", scope: ScopeAdmin, firstRun: true, maxBody: smallBody, serve: s.submitGymTasks,
			summary: "Approve the items of results by hash under the gym's licence (accept_license must name it): signed into the outbox, their tasks marked done, and sent unless send is false (admin)", fields: "results, approve, accept_license, send"},
	}
}

func (s *Server) writeGymTasks(w http.ResponseWriter, r *http.Request, gc *gym.Contributor, g gym.GymInfo) error {
	tasks, err := gc.KeptTasks(r.Context(), g)
	if err != nil {
		return err
	}
	sets := g.Manifest.Tasks
	if sets == nil {
		sets = []gym.TaskSet{}
	}
	if tasks == nil {
		tasks = []gym.Task{}
	}
	writeJSON(w, http.StatusOK, apitype.GymTasks{Gym: g.ID, Name: g.Manifest.Name, License: g.Manifest.License, Sets: sets, Tasks: tasks})
	return nil
}

func (s *Server) gymTasks(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	return s.writeGymTasks(w, r, gc, g)
}

func (s *Server) fetchGymTasks(w http.ResponseWriter, r *http.Request) error {
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return err
	}
	var in apitype.GymTaskFetch
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Set == "" {
		if len(g.Manifest.Tasks) == 0 {
			return errorf(http.StatusNotFound, "not_found", "gym "+g.Manifest.Name+" publishes no tasks")
		}
		in.Set = g.Manifest.Tasks[0].ID
	}
	if in.N <= 0 {
		in.N = 5
	}
	if _, err := gc.FetchTasks(r.Context(), g, in.Set, in.N); err != nil {
		return errorf(http.StatusBadGateway, "gym_unreachable", err.Error())
	}
	return s.writeGymTasks(w, r, gc, g)
}

// taskCandidates reads the results sent and rebuilds the items they give:
// what review shows is what submit signs, byte for byte, since both come
// from here.
func (s *Server) taskCandidates(r *http.Request) (*gym.Contributor, gym.GymInfo, apitype.GymTaskResults, []gym.Candidate, error) {
	var in apitype.GymTaskResults
	gc, g, err := s.gymByPath(r)
	if err != nil {
		return nil, g, in, nil, err
	}
	if err := readJSON(r, &in); err != nil {
		return nil, g, in, nil, err
	}
	if len(in.Results) == 0 {
		return nil, g, in, nil, errorf(http.StatusBadRequest, "invalid", "results is missing: send {\"results\": [{\"task\": ID, \"answer\": …}]}")
	}
	// Known names come from the vault; with none yet there are none.
	var known gym.Known
	if !s.firstRun() {
		if known, err = gym.KnownFromVault(r.Context(), s.cfg.Vault); err != nil {
			return nil, g, in, nil, err
		}
	}
	cands, err := gc.TaskCandidates(r.Context(), g, in.Results, known)
	if err != nil {
		return nil, g, in, nil, errorf(http.StatusBadRequest, "invalid", err.Error())
	}
	return gc, g, in, cands, nil
}

func (s *Server) reviewGymTasks(w http.ResponseWriter, r *http.Request) error {
	_, g, _, cands, err := s.taskCandidates(r)
	if err != nil {
		return err
	}
	if cands == nil {
		cands = []gym.Candidate{}
	}
	writeJSON(w, http.StatusOK, apitype.GymReview{Gym: g.ID, Name: g.Manifest.Name, License: g.Manifest.License, Items: cands})
	return nil
}

func (s *Server) submitGymTasks(w http.ResponseWriter, r *http.Request) error {
	gc, g, in, cands, err := s.taskCandidates(r)
	if err != nil {
		return err
	}
	if len(in.Approve) == 0 {
		return errorf(http.StatusBadRequest, "invalid", "approve is missing: the hashes of the reviewed items to send (POST …/tasks/review lists them)")
	}
	var approved []gym.Candidate
	for _, h := range in.Approve {
		i := slices.IndexFunc(cands, func(c gym.Candidate) bool { return c.Hash == h })
		if i < 0 {
			return errorf(http.StatusNotFound, "not_found", "item "+h+" is not one these results give: review them again (POST …/tasks/review)")
		}
		approved = append(approved, cands[i])
	}
	envelopes, err := gc.SubmitTasks(r.Context(), g, approved, in.AcceptLicense)
	if err != nil {
		return gymError(err)
	}
	out := apitype.GymTaskSubmitted{Envelopes: envelopes, Approved: len(approved)}
	if in.Send == nil || *in.Send {
		rep, err := gc.Send(r.Context(), true)
		if err != nil {
			return err
		}
		out.Sent = &rep
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
