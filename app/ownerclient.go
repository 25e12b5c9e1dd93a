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
	"strings"
	"syscall"
	"time"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory"
)

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
