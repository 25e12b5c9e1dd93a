package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/memory"
)

// routesChat registers conversations, chat turns and models.
func (s *Server) routesChat() []route {
	return []route{
		{pattern: "GET /api/v1/conversations", scope: ScopeChat, serve: s.listConversations,
			summary: "Conversations, most recent first, up to limit (0 for all)"},
		{pattern: "GET /api/v1/conversations/{id}", scope: ScopeChat, serve: s.getConversation,
			summary: "A conversation with every message of every branch (parent ids) and its head"},
		{pattern: "PATCH /api/v1/conversations/{id}", scope: ScopeConversationsWrite, maxBody: smallBody, serve: s.patchConversation,
			summary: "Rename a conversation (conversations:write)", fields: "title"},
		{pattern: "DELETE /api/v1/conversations/{id}", scope: ScopeConversationsWrite, serve: s.deleteConversation,
			summary: "Delete a conversation and its messages (conversations:write)"},
		{pattern: "POST /api/v1/chat", scope: ScopeChat, maxBody: chatBody, stream: true, serve: s.chat,
			summary: "Send a message and get the reply (stream: true for Server-Sent Events: start with the conversation and message ids, delta, done, error); parent_id of an earlier message edits into a new branch; root: true makes a new first message (editing the first one)", fields: "conversation_id, parent_id, root, text, model, stream"},
		{pattern: "POST /api/v1/messages/{id}/regenerate", scope: ScopeChat, maxBody: smallBody, stream: true, serve: s.regenerate,
			summary: "Answer the message before this reply again, as a new branch", fields: "model, stream"},
		{pattern: "POST /api/v1/messages/{id}/feedback", scope: ScopeChat, maxBody: chatBody, serve: s.addFeedback,
			summary: "Rate a reply (1 or -1), comment on it, give the answer you wanted, or mark it preferred among its regenerations; kept in the vault", fields: "rating, comment, correction, preferred"},
		{pattern: "GET /api/v1/messages/{id}/feedback", scope: ScopeChat, serve: s.listFeedback,
			summary: "Feedback on a reply, oldest first"},
		{pattern: "GET /api/v1/models", scope: ScopeChat, serve: s.listModels,
			summary: "Models of every backend, and of your other paired devices as DEVICE/MODEL (device, offline: out of reach, as last seen); the other backends that did not answer are listed under unreachable"},
		{pattern: "POST /api/v1/models/pull", scope: ScopeAdmin, maxBody: smallBody, stream: true, serve: s.pullModel,
			summary: "Download a model into Ollama; progress as Server-Sent Events (admin)", fields: "name, insecure"},
		{pattern: "GET /api/v1/events", scope: ScopeMemoryRead, stream: true, serve: s.events,
			summary: "Server-Sent Events for every change in the vault (memory, conversation, message, …), and \"extraction\" events with an extraction job's counts as it goes (unfinished jobs when the stream starts); Last-Event-ID resumes"},
	}
}

func (s *Server) needAgent() error {
	if s.firstRun() || s.cfg.Agent == nil || s.cfg.Backends == nil {
		return errorf(http.StatusServiceUnavailable, "no_agent", "this server runs without models")
	}
	return nil
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) error {
	limit := apitype.DefaultConversationLimit
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "invalid", "limit must be a number, 0 for all")
		}
		limit = n
	}
	convs, err := s.cfg.Vault.Conversations(r.Context(), limit)
	if err != nil {
		return err
	}
	if convs == nil {
		convs = []memory.Conversation{}
	}
	writeJSON(w, http.StatusOK, apitype.ConversationList{Conversations: convs})
	return nil
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) error {
	id, err := s.conversationID(r)
	if err != nil {
		return err
	}
	c, err := s.cfg.Vault.Conversation(r.Context(), id)
	if err != nil {
		return err
	}
	msgs, err := s.cfg.Vault.Messages(r.Context(), c.ID)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []memory.Message{}
	}
	// Every branch, oldest first; head is the newest message, where the
	// conversation continues.
	head := ""
	if t := agent.Thread(msgs, ""); len(t) > 0 {
		head = t[len(t)-1].ID
	}
	writeJSON(w, http.StatusOK, apitype.ConversationDetail{Conversation: c, Messages: msgs, Head: head})
	return nil
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request) error {
	var in apitype.ConversationPatch
	if err := readJSON(r, &in); err != nil {
		return err
	}
	id, err := s.conversationID(r)
	if err != nil {
		return err
	}
	c, err := s.cfg.Vault.EditConversation(r.Context(), id, memory.ConversationPatch{Title: in.Title})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request) error {
	id, err := s.conversationID(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Vault.DeleteConversation(r.Context(), id); err != nil {
		return err
	}
	// As after a forget: clear the deleted bytes from the write-ahead log.
	if err := s.cfg.Vault.Checkpoint(r.Context()); err != nil {
		s.log.Debug("checkpoint after a delete", "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func newTurnBody(t *agent.Turn) apitype.Turn {
	return apitype.Turn{Conversation: t.Conversation, User: t.User, Reply: t.Reply, Tools: t.Tools}
}

// chat runs a turn. With "stream": true the reply streams as Server-Sent
// Events: "start" with where it is stored, "delta" events with text, then
// one "done" event with the stored turn (or "error"); apitype.ChatRequest.
func (s *Server) chat(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	var in apitype.ChatRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	req := agent.TurnRequest{ConversationID: in.ConversationID, ParentID: in.ParentID, Root: in.Root, Text: in.Text, Model: in.Model, Limits: limitsFor(r.Context())}
	return s.runTurn(w, r, in.Stream, func(ev *turnEvents) (*agent.Turn, error) {
		if ev != nil {
			req.OnStored = ev.started
		}
		return s.cfg.Agent.Chat(r.Context(), req, ev.delta)
	})
}

func (s *Server) regenerate(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	var in apitype.RegenerateRequest
	if r.ContentLength != 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	return s.runTurn(w, r, in.Stream, func(ev *turnEvents) (*agent.Turn, error) {
		return s.cfg.Agent.Regenerate(r.Context(), id, in.Model, limitsFor(r.Context()), ev.delta)
	})
}

// turnEvents writes a streamed turn's events; nil streams nothing.
type turnEvents struct {
	w       http.ResponseWriter
	flusher flusher
	open    bool
}

// begin sends the stream's status and headers, once.
func (e *turnEvents) begin() {
	if !e.open {
		e.w.Header().Set("Content-Type", "text/event-stream")
		e.w.Header().Set("Cache-Control", "no-store")
		e.w.WriteHeader(http.StatusOK)
		e.open = true
	}
}

func (e *turnEvents) send(event string, v any) {
	e.begin()
	b, _ := json.Marshal(v)
	fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", event, b)
	e.flusher.Flush()
}

func (e *turnEvents) started(conv memory.Conversation, user memory.Message) {
	e.send("start", apitype.ChatStart{ConversationID: conv.ID, MessageID: user.ID})
}

// delta is the agent's onDelta: nil (no stream) takes none.
func (e *turnEvents) delta(text string) {
	if e != nil {
		e.send("delta", apitype.ChatDelta{Text: text})
	}
}

func (s *Server) runTurn(w http.ResponseWriter, r *http.Request, stream bool, run func(*turnEvents) (*agent.Turn, error)) error {
	if !stream {
		turn, err := run(nil)
		if err != nil {
			return s.turnCause(r.Context(), err)
		}
		writeJSON(w, http.StatusOK, newTurnBody(turn))
		return nil
	}
	ev := &turnEvents{w: w, flusher: streamFlusher(w)}
	turn, err := run(ev)
	if err != nil {
		err = s.turnCause(r.Context(), err)
	}
	if err != nil && !ev.open {
		return err // nothing streamed: a plain error response
	}
	if err != nil {
		ev.send("error", map[string]any{"error": classify(err), "turn": turnOrNil(turn)})
	} else {
		ev.send("done", newTurnBody(turn))
	}
	return nil
}

// turnCause finds the first cause of a failed turn: with no model chosen
// because Ollama is not running (so the first run could not pick one),
// "Ollama is not running" is what the person must fix first.
func (s *Server) turnCause(ctx context.Context, err error) error {
	if !errors.Is(err, agent.ErrNoModel) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, perr := s.cfg.Backends.Default().Models(ctx); errors.Is(perr, agent.ErrUnavailable) {
		return perr
	}
	return err
}

func turnOrNil(t *agent.Turn) any {
	if t == nil {
		return nil
	}
	return newTurnBody(t)
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	out := apitype.ModelList{Models: []agent.ModelInfo{}}
	var firstErr error
	for i, b := range s.cfg.Backends.All() {
		models, err := b.Models(r.Context())
		if err != nil {
			if i == 0 {
				firstErr = err // the other devices' models may still be there
			}
			out.Unreachable = append(out.Unreachable, apitype.BackendError{Backend: b.Name(), Error: err.Error()})
			continue
		}
		for _, m := range models {
			if i > 0 {
				m.Name = b.Name() + "/" + m.Name
			}
			out.Models = append(out.Models, m)
		}
	}
	if len(out.Models) == 0 && firstErr != nil {
		return firstErr
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pullModel downloads a model into Ollama, streaming progress as
// Server-Sent Events ("progress", then "done" or "error").
func (s *Server) pullModel(w http.ResponseWriter, r *http.Request) error {
	if err := s.needAgent(); err != nil {
		return err
	}
	var in apitype.PullRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return errorf(http.StatusBadRequest, "invalid", "name is missing: send {\"name\": \"llama3.2\"}")
	}
	puller, ok := s.cfg.Backends.Default().(agent.Puller)
	if !ok {
		return errorf(http.StatusNotImplemented, "not_supported", "the default backend cannot pull models")
	}
	flusher := streamFlusher(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	err := puller.Pull(r.Context(), in.Name, in.Insecure, func(p agent.PullProgress) {
		b, _ := json.Marshal(p)
		fmt.Fprintf(w, "event: progress\ndata: %s\n\n", b)
		flusher.Flush()
	})
	if err != nil {
		b, _ := json.Marshal(map[string]any{"error": classify(err)})
		fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
	} else {
		s.cfg.Backends.Forget()
		fmt.Fprint(w, "event: done\ndata: {}\n\n")
	}
	flusher.Flush()
	return nil
}

func (s *Server) addFeedback(w http.ResponseWriter, r *http.Request) error {
	var in apitype.FeedbackInput
	if err := readJSON(r, &in); err != nil {
		return err
	}
	// A unique prefix, as `cairn conversations show` prints ids.
	id, err := s.cfg.Vault.ResolveID(r.Context(), memory.KindMessage, r.PathValue("id"))
	if err != nil {
		return err
	}
	fb, err := s.cfg.Vault.AddFeedback(r.Context(), memory.NewFeedback{MessageID: id, Rating: in.Rating, Comment: in.Comment, Correction: in.Correction, Preferred: in.Preferred})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, fb)
	return nil
}

func (s *Server) listFeedback(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.cfg.Vault.Message(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	fb, err := s.cfg.Vault.FeedbackOn(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"feedback": fb})
	return nil
}

// conversationID is the {id} of a conversation route: a whole id, or a
// unique prefix of one as the CLI lets a person type (memory.ResolveID).
func (s *Server) conversationID(r *http.Request) (string, error) {
	return s.cfg.Vault.ResolveID(r.Context(), memory.KindConversation, r.PathValue("id"))
}
