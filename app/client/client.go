// Package client is the Go client of Cairn's local HTTP API, the one the
// command line uses: through the process that owns the home (cairn serve,
// the desktop app) over loopback, or, when none runs, through the same API
// handler served in-process on a vault the command opened itself. Either
// way a command takes one code path, one validation and one output.
// Request and response types are app/apitype's.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Config says where a Client sends its requests.
type Config struct {
	// BaseURL is the API's address, e.g. http://127.0.0.1:8484.
	BaseURL string
	// Token is the bearer token sent with every request.
	Token string
	// HTTP sends the requests; nil is a client with no overall timeout
	// (a stream lasts as long as it needs; the context cancels it).
	HTTP *http.Client
	// Server names the server in transport errors, e.g. "the cairn process
	// serving this home (pid 123)"; empty: "the Cairn API at BaseURL".
	Server string
}

// Client calls the API. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	token  string
	http   *http.Client
	server string
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("the API address %q is not a URL like http://127.0.0.1:8484", cfg.BaseURL)
	}
	c := &Client{base: base, token: cfg.Token, http: cfg.HTTP, server: cfg.Server}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.server == "" {
		c.server = "the Cairn API at " + cfg.BaseURL
	}
	return c, nil
}

// InProcess is a client that serves every request with h in this process,
// with no socket: the API handler on a vault the caller opened.
func InProcess(h http.Handler) *Client {
	c, _ := New(Config{BaseURL: "http://in-process", HTTP: &http.Client{Transport: handlerTransport{h}}, Server: "the vault's API in this process"})
	return c
}

// Do sends a request to any route, with in as its JSON body (nil: none),
// and decodes a JSON answer into out (nil: the body is dropped): for the
// routes that have no method of their own yet.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.do(ctx, method, path, query, in, out)
}

// do is Do.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s answered %s %s with a body that is not the expected JSON: %w", c.server, method, path, err)
	}
	return nil
}

// send sends a request and returns a successful response, whose body the
// caller closes; an error status becomes an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s did not answer: %w", c.server, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}
