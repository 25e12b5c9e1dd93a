package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory"
)

// memories is what the memory commands need: the vault itself, or the API
// of the process that owns the home (cairn serve, the desktop app).
type memories interface {
	Add(ctx context.Context, n memory.NewItem) (memory.Item, error)
	Search(ctx context.Context, q memory.Query) ([]memory.Result, error)
	List(ctx context.Context, o memory.ListOptions) ([]memory.Item, error)
	Get(ctx context.Context, id string) (memory.Item, error)
	Revisions(ctx context.Context, id string) ([]memory.Item, error)
	Edit(ctx context.Context, id string, p memory.Patch) (memory.Item, error)
	Forget(ctx context.Context, id string) error
	Checkpoint(ctx context.Context) error
}

// withMemories runs fn against the home's owner when one runs (no
// passphrase needed, and the owner's events and indexes see the change
// at once), else against the vault opened for this command.
func (c *cli) withMemories(ctx context.Context, fn func(memories) error) error {
	if oc, ok := c.home().ownerClient(); ok {
		return fn(oc)
	}
	return c.withVault(ctx, func(v *memory.Vault) error { return fn(v) })
}

// ownerAlive reports whether a process holds the home's owner lock.
func (h Home) ownerAlive() bool {
	f, err := os.OpenFile(h.ownerLockPath(), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// ownerClient talks to the running owner, if there is one.
func (h Home) ownerClient() (*ownerClient, bool) {
	if !h.ownerAlive() {
		return nil, false
	}
	o, err := h.RunningOwner()
	if err != nil {
		return nil, false
	}
	tok, err := os.ReadFile(api.DefaultTokenPath(h.Dir))
	if err != nil {
		return nil, false
	}
	base, err := url.Parse(o.URL)
	if err != nil {
		return nil, false
	}
	return &ownerClient{base: base, token: strings.TrimSpace(string(tok)), owner: o, http: &http.Client{Timeout: 2 * time.Minute}}, true
}

type ownerClient struct {
	base  *url.URL
	token string
	owner Owner
	http  *http.Client
}

func (o *ownerClient) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := o.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return fmt.Errorf("the cairn process serving this home (pid %d, %s) did not answer: %w", o.owner.PID, o.owner.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
		msg := e.Error.Message
		switch e.Error.Code {
		case "not_found":
			return fmt.Errorf("%w (%s)", memory.ErrNotFound, msg)
		case "invalid":
			return fmt.Errorf("%w: %s", memory.ErrInvalid, strings.TrimPrefix(msg, memory.ErrInvalid.Error()+": "))
		case "locked":
			return fmt.Errorf("%w in the cairn process serving this home (pid %d): unlock it there, or POST /api/v1/unlock", memory.ErrLocked, o.owner.PID)
		}
		return fmt.Errorf("the cairn process serving this home answered %s: %s", resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type memoryJSON struct {
	memory.Item
	Score   float64 `json:"score"`
	Snippet string  `json:"snippet"`
}

type memoryPatchJSON struct {
	Kind   *memory.ItemKind `json:"kind,omitempty"`
	Text   *string          `json:"text,omitempty"`
	Tags   *[]string        `json:"tags,omitempty"`
	Pinned *bool            `json:"pinned,omitempty"`
}

func (o *ownerClient) Add(ctx context.Context, n memory.NewItem) (memory.Item, error) {
	var it memory.Item
	kind := n.Kind
	err := o.do(ctx, "POST", "/api/v1/memories", nil, memoryPatchJSON{Kind: &kind, Text: &n.Text, Tags: &n.Tags, Pinned: &n.Pinned}, &it)
	return it, err
}

func (o *ownerClient) Search(ctx context.Context, q memory.Query) ([]memory.Result, error) {
	vals := url.Values{"q": {q.Text}, "mode": {string(q.Mode)}, "kind": {string(q.Kind)}, "tag": {q.Tag}}
	if q.Limit > 0 {
		vals.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Memories []memoryJSON `json:"memories"`
	}
	if err := o.do(ctx, "GET", "/api/v1/memories", vals, nil, &out); err != nil {
		return nil, err
	}
	res := make([]memory.Result, 0, len(out.Memories))
	for _, m := range out.Memories {
		res = append(res, memory.Result{Item: m.Item, Score: m.Score, Snippet: m.Snippet})
	}
	return res, nil
}

func (o *ownerClient) List(ctx context.Context, lo memory.ListOptions) ([]memory.Item, error) {
	vals := url.Values{"kind": {string(lo.Kind)}, "tag": {lo.Tag}}
	limit := lo.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	vals.Set("limit", strconv.Itoa(limit))
	var out struct {
		Memories []memoryJSON `json:"memories"`
	}
	if err := o.do(ctx, "GET", "/api/v1/memories", vals, nil, &out); err != nil {
		return nil, err
	}
	items := make([]memory.Item, 0, len(out.Memories))
	for _, m := range out.Memories {
		items = append(items, m.Item)
	}
	return items, nil
}

func (o *ownerClient) Get(ctx context.Context, id string) (memory.Item, error) {
	var it memory.Item
	err := o.do(ctx, "GET", "/api/v1/memories/"+url.PathEscape(id), nil, nil, &it)
	return it, err
}

func (o *ownerClient) Revisions(ctx context.Context, id string) ([]memory.Item, error) {
	var out struct {
		Revisions []memory.Item `json:"revisions"`
	}
	err := o.do(ctx, "GET", "/api/v1/memories/"+url.PathEscape(id)+"/revisions", nil, nil, &out)
	return out.Revisions, err
}

func (o *ownerClient) Edit(ctx context.Context, id string, p memory.Patch) (memory.Item, error) {
	var it memory.Item
	err := o.do(ctx, "PATCH", "/api/v1/memories/"+url.PathEscape(id), nil, memoryPatchJSON{Kind: p.Kind, Text: p.Text, Tags: p.Tags, Pinned: p.Pinned}, &it)
	return it, err
}

func (o *ownerClient) Forget(ctx context.Context, id string) error {
	return o.do(ctx, "DELETE", "/api/v1/memories/"+url.PathEscape(id), nil, nil, nil)
}

// Checkpoint is the owner's business: it holds the vault open.
func (o *ownerClient) Checkpoint(context.Context) error { return nil }
