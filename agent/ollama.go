package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"
)

// DefaultOllamaURL is where Ollama listens unless OLLAMA_HOST says otherwise.
const DefaultOllamaURL = "http://127.0.0.1:11434"

// Ollama is a backend that talks to an Ollama server through its own
// client library.
type Ollama struct {
	name   string
	url    *url.URL
	client *api.Client
	// explainFn words errors instead of explain when set (a Device).
	explainFn func(err error, model string) error
}

// NewOllama returns a backend for the Ollama server at base.
func NewOllama(name string, base *url.URL) *Ollama {
	// No client timeout: replies stream for as long as they take; callers
	// bound them with their context.
	return &Ollama{name: name, url: base, client: api.NewClient(base, &http.Client{Transport: http.DefaultTransport})}
}

// OllamaURL parses an OLLAMA_HOST value the way Ollama does: a bare host,
// host:port, or a URL; the default port is 11434.
func OllamaURL(host string) (*url.URL, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		return url.Parse(DefaultOllamaURL)
	}
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("OLLAMA_HOST %q is not a host, host:port or URL", host)
	}
	if u.Port() == "" {
		port := "11434"
		if u.Scheme == "https" {
			port = "443"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Hostname() == "0.0.0.0" || u.Hostname() == "::" {
		// "listen everywhere" is a server setting; clients dial loopback.
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	}
	return u, nil
}

// Name implements Backend.
func (o *Ollama) Name() string { return o.name }

// URL implements Backend.
func (o *Ollama) URL() *url.URL { return o.url }

// Client is the underlying Ollama client.
func (o *Ollama) Client() *api.Client { return o.client }

// Version returns the server's version, which also tells whether it runs.
func (o *Ollama) Version(ctx context.Context) (string, error) {
	v, err := o.client.Version(ctx)
	if err != nil {
		return "", o.explain(err, "")
	}
	return v, nil
}

// explain turns client errors into ones that say what to do.
func (o *Ollama) explain(err error, model string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if o.explainFn != nil {
		return o.explainFn(err, model)
	}
	var se api.StatusError
	if errors.As(err, &se) {
		msg := se.ErrorMessage
		if msg == "" {
			msg = se.Status
		}
		if se.StatusCode == http.StatusNotFound || strings.Contains(msg, "not found") {
			if model != "" {
				return fmt.Errorf("%w: %q is not on %s (%s): pull it with `cairn pull %s` or pick one from `cairn models`", ErrModelNotFound, model, o.name, msg, model)
			}
		}
		return fmt.Errorf("%s: %s", o.name, msg)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%w: Ollama is not running at %s (%v): start it with `ollama serve`, or set OLLAMA_HOST to where it runs", ErrUnavailable, o.url.Redacted(), err)
	}
	return fmt.Errorf("%s: %w", o.name, err)
}

// Models implements Backend.
func (o *Ollama) Models(ctx context.Context) ([]ModelInfo, error) {
	resp, err := o.client.List(ctx)
	if err != nil {
		return nil, o.explain(err, "")
	}
	out := make([]ModelInfo, 0, len(resp.Models))
	for _, m := range resp.Models {
		out = append(out, ModelInfo{
			Name: m.Name, Backend: o.name, Size: m.Size, Family: m.Details.Family,
			Params: m.Details.ParameterSize, Quant: m.Details.QuantizationLevel, ModifiedAt: m.ModifiedAt,
		})
	}
	return out, nil
}

// Show implements Backend.
func (o *Ollama) Show(ctx context.Context, model string) (ModelInfo, error) {
	resp, err := o.client.Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return ModelInfo{}, o.explain(err, model)
	}
	info := ModelInfo{
		Name: model, Backend: o.name, Family: resp.Details.Family,
		Params: resp.Details.ParameterSize, Quant: resp.Details.QuantizationLevel, ModifiedAt: resp.ModifiedAt,
	}
	for k, v := range resp.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			if f, ok := v.(float64); ok {
				info.TrainedContext = int(f)
			}
		}
	}
	for _, c := range resp.Capabilities {
		info.Capabilities = append(info.Capabilities, string(c))
	}
	return info, nil
}

// Chat implements Backend.
func (o *Ollama) Chat(ctx context.Context, req ChatRequest, onDelta func(Delta)) (ChatResponse, error) {
	if req.NumCtx <= 0 {
		return ChatResponse{}, errors.New("chat request without num_ctx: Ollama would cut the prompt silently")
	}
	opts := map[string]any{"num_ctx": req.NumCtx}
	if req.NumPredict != 0 {
		opts["num_predict"] = req.NumPredict
	}
	if req.Temperature != nil {
		opts["temperature"] = *req.Temperature
	}
	if req.Seed != 0 {
		opts["seed"] = req.Seed
	}
	areq := &api.ChatRequest{Model: req.Model, Format: req.Format, Options: opts}
	for _, m := range req.Messages {
		am := api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName}
		for _, tc := range m.ToolCalls {
			var args api.ToolCallFunctionArguments
			if len(tc.Arguments) > 0 {
				if err := json.Unmarshal(tc.Arguments, &args); err != nil {
					args = api.ToolCallFunctionArguments{}
				}
			}
			am.ToolCalls = append(am.ToolCalls, api.ToolCall{Function: api.ToolCallFunction{Name: tc.Name, Arguments: args}})
		}
		areq.Messages = append(areq.Messages, am)
	}
	for _, t := range req.Tools {
		var at api.Tool
		at.Type = "function"
		at.Function.Name = t.Name
		at.Function.Description = t.Description
		if err := json.Unmarshal(t.Parameters, &at.Function.Parameters); err != nil {
			return ChatResponse{}, fmt.Errorf("tool %s: parameters are not a JSON schema object: %w", t.Name, err)
		}
		areq.Tools = append(areq.Tools, at)
	}
	var (
		out     ChatResponse
		content strings.Builder
		start   = time.Now()
		done    bool
	)
	out.Message.Role = "assistant"
	err := o.client.Chat(ctx, areq, func(r api.ChatResponse) error {
		if err := ctx.Err(); err != nil {
			return err // stop reading: what arrived so far is the reply
		}
		if r.Message.Content != "" {
			if out.FirstToken == 0 {
				out.FirstToken = time.Since(start)
			}
			content.WriteString(r.Message.Content)
			if onDelta != nil {
				onDelta(Delta{Content: r.Message.Content})
			}
		}
		for _, tc := range r.Message.ToolCalls {
			args, _ := json.Marshal(tc.Function.Arguments)
			out.Message.ToolCalls = append(out.Message.ToolCalls, ToolCall{
				ID: "call_" + strconv.Itoa(len(out.Message.ToolCalls)), Name: tc.Function.Name, Arguments: args,
			})
		}
		if r.Done {
			done = true
			out.PromptTokens, out.OutputTokens, out.DoneReason = r.PromptEvalCount, r.EvalCount, r.DoneReason
		}
		return nil
	})
	out.Message.Content = content.String()
	out.Total = time.Since(start)
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	var se api.StatusError
	if err != nil && (content.Len() == 0 || errors.As(err, &se)) {
		return out, o.explain(err, req.Model)
	}
	if err != nil || !done {
		// The stream broke, or ended before Ollama's last line, after part
		// of the reply: the connection dropped (another device went away,
		// a relay cut it).
		return out, fmt.Errorf("%w: the reply from %s stopped before its end (the connection dropped%s): what came is kept, marked incomplete; regenerate it", ErrUnavailable, o.name, errNote(err))
	}
	return out, nil
}

// Embed implements Backend.
func (o *Ollama) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	resp, err := o.client.Embed(ctx, &api.EmbedRequest{Model: model, Input: texts})
	if err != nil {
		return nil, o.explain(err, model)
	}
	if len(resp.Embeddings) != len(texts) {
		return nil, fmt.Errorf("%s: %s returned %d embeddings for %d texts", o.name, model, len(resp.Embeddings), len(texts))
	}
	return resp.Embeddings, nil
}

// Pull implements Puller: it downloads a model, reporting progress.
func (o *Ollama) Pull(ctx context.Context, model string, insecure bool, progress func(PullProgress)) error {
	err := o.client.Pull(ctx, &api.PullRequest{Model: model, Insecure: insecure}, func(p api.ProgressResponse) error {
		if progress != nil {
			progress(PullProgress{Status: p.Status, Digest: p.Digest, Total: p.Total, Completed: p.Completed})
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return o.explainPull(err, model)
	}
	return nil
}

// explainPull tells apart the three ways a pull fails: Ollama itself does
// not answer (the error comes from this side's HTTP client), Ollama cannot
// reach the registry (its own network error, relayed as text), or the
// registry has no such model.
func (o *Ollama) explainPull(err error, model string) error {
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return o.explain(err, model)
	}
	msg := err.Error()
	var se api.StatusError
	if errors.As(err, &se) && se.ErrorMessage != "" {
		msg = se.ErrorMessage
	}
	if registryNetworkError(msg) {
		return fmt.Errorf("%w: Ollama could not download %s (%s): check this machine's internet connection (or the registry's address), then pull again", ErrRegistryUnreachable, model, msg)
	}
	if strings.Contains(msg, "not exist") || strings.Contains(msg, "not found") || strings.Contains(msg, "manifest unknown") {
		return fmt.Errorf("%w: the registry has no %s (%s): check the name (names look like llama3.2 or qwen2.5:7b)", ErrModelNotFound, model, msg)
	}
	return fmt.Errorf("pull %s: %s", model, msg)
}

// registryNetworkError reports whether Ollama's pull error is a network
// failure on its way to the registry, as Go's net package words them.
func registryNetworkError(msg string) bool {
	for _, s := range []string{"dial tcp", "no such host", "lookup ", "connection refused", "network is unreachable", "i/o timeout", "TLS handshake timeout", "connection reset", "server misbehaving", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Running lists the models loaded in memory and their context lengths.
func (o *Ollama) Running(ctx context.Context) ([]api.ProcessModelResponse, error) {
	resp, err := o.client.ListRunning(ctx)
	if err != nil {
		return nil, o.explain(err, "")
	}
	return resp.Models, nil
}

// errNote is ": err" for an error, "" for none.
func errNote(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}
