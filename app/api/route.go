package api

import (
	"net/http"
	"time"
)

// route is one route of the API, declared once in the route table
// (Server.routes): what the mux serves, the scope checked, the timeouts,
// what a paused browser session and a first-run server may ask, and the
// OpenAPI document all come from here.
//
// Adding a route is one entry in a routes… function's list:
//
//	{pattern: "POST /api/v1/things", scope: ScopeMemoryWrite, maxBody: smallBody, serve: s.addThing,
//		summary: "Add a thing", fields: "name, kind"},
//
// and a line in scopetable_test.go's golden (go test -run
// TestEveryRouteWithEveryScope -update) and README's scope table.
type route struct {
	// pattern is the method and path, as net/http's ServeMux takes them.
	pattern string
	// scope is what the request's token must have.
	scope string
	// maxBody is the most a request body may be, in bytes (0: none).
	maxBody int64
	// stream: the answer lasts as long as it needs (a reply, a feed, a
	// download), with no write deadline; the OpenAPI document says it
	// may be Server-Sent Events.
	stream bool
	// whileLocked: a browser session paused by a lock may still ask it
	// (login.go): whether the vault is locked, and how to unlock it.
	whileLocked bool
	// firstRun: it answers before there is a vault (runtime.go): the UI's
	// own routes, and those of the gym file and its tasks, which need
	// no vault.
	firstRun bool
	// summary documents a /api/v1 route in the OpenAPI document, and
	// fields names its request's JSON fields ("" for none).
	summary, fields string
	serve           func(w http.ResponseWriter, r *http.Request) error
}

// register serves the route table: each route behind its scope check,
// its body limit and its deadlines.
func (s *Server) register(routes []route) {
	s.table = routes
	s.firstRunRoutes = map[string]bool{"GET /healthz": true}
	s.lockedRoutes = map[string]bool{}
	for _, rt := range routes {
		if rt.firstRun {
			s.firstRunRoutes[rt.pattern] = true
		}
		if rt.whileLocked {
			s.lockedRoutes[rt.pattern] = true
		}
		s.mux.Handle(rt.pattern, s.guard(rt))
	}
}

// guard checks the token's scope, bounds the body and sets the deadlines
// before the route serves.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := tokenFrom(r.Context())
		if !ok || !tok.Has(rt.scope) {
			writeError(w, errorf(http.StatusForbidden, "forbidden", "this token lacks the "+rt.scope+" scope: create one with `cairn token create NAME --scope "+rt.scope+"`"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
		// Deadlines are not supported in-process (the desktop window);
		// there is no client to stall there.
		// (A read deadline on a stream would end it: the server's
		// background read that watches for a closed connection fails too.)
		// Deadlines stay on a kept-alive connection, so a stream clears
		// the one an earlier request set.
		rc := http.NewResponseController(w)
		if rt.stream {
			_ = rc.SetWriteDeadline(time.Time{})
		} else {
			_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
			_ = rc.SetWriteDeadline(time.Now().Add(replyTimeout))
		}
		if err := rt.serve(w, r); err != nil {
			writeError(w, err)
		}
	})
}
