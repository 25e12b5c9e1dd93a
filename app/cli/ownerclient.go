package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/app/client"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

// ownerClient talks to the running owner, if there is one.
func (c *cli) ownerClient() (*ownerClient, bool) {
	h := c.Home()
	if !h.OwnerAlive() {
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
	oc := &ownerClient{base: base, token: strings.TrimSpace(string(tok)), owner: o}
	oc.api, err = client.New(client.Config{BaseURL: o.URL, Token: oc.token,
		Server: fmt.Sprintf("the cairn process serving this home (pid %d, %s)", o.PID, o.URL)})
	return oc, err == nil
}

// ownerClient is the running owner: its address and token, and the API
// client that talks to it.
type ownerClient struct {
	base  *url.URL
	token string
	owner owner.Owner
	api   *client.Client
}

// do sends a request to a route that has no method on app/client yet.
func (o *ownerClient) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	err := o.api.Do(ctx, method, path, query, in, out)
	if errors.Is(err, memory.ErrLocked) {
		return fmt.Errorf("%w in the cairn process serving this home (pid %d): unlock it there, or POST /api/v1/unlock", memory.ErrLocked, o.owner.PID)
	}
	return err
}
