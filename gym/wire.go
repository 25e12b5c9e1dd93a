package gym

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The same operations travel over libp2p (/cairn/gym/1.0.0: one JSON
// request, the writer closes its side, one JSON response) and over HTTP
// (GET /manifest, POST /contribute, POST /revoke, and the log's
// GET /checkpoint and GET /tile/...).
type request struct {
	Op     string  `json:"op"` // manifest, contribute, revoke, checkpoint or tile
	Signed *Signed `json:"signed,omitempty"`
	// Path is the tile's path (tile/H/L/N...) for the tile operation.
	Path string `json:"path,omitempty"`
	// Note is a witness's cosigned checkpoint for the cosign operation.
	Note []byte `json:"note,omitempty"`
	// Set and N ask the tasks operation for up to N tasks of a set.
	Set string `json:"set,omitempty"`
	N   int    `json:"n,omitempty"`
}

type response struct {
	Manifest *Signed `json:"manifest,omitempty"`
	// Tasks is a signed TaskBatch.
	Tasks *Signed `json:"tasks,omitempty"`
	// Data is a checkpoint note or a tile's bytes.
	Data []byte `json:"data,omitempty"`
	Answer
}

// readOps are the operations that only read (GET over HTTP).
var readOps = map[string]bool{"manifest": true, "checkpoint": true, "tile": true, "tasks": true}

const maxAnswerBytes = 8 << 20

func peerIDOf(pub ed25519.PublicKey) (string, error) {
	k, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPublicKey(k)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (n *Node) handle(ctx context.Context, req request) (response, int) {
	switch req.Op {
	case "manifest":
		m := n.Manifest()
		return response{Manifest: &m}, http.StatusOK
	case "checkpoint":
		return response{Data: n.Checkpoint()}, http.StatusOK
	case "tile":
		b, err := n.Tile(ctx, req.Path)
		if err != nil {
			return response{Answer: refuse(RefusedSchema, "%v", err)}, http.StatusNotFound
		}
		return response{Data: b}, http.StatusOK
	case "tasks":
		b, err := n.TaskBatch(ctx, req.Set, req.N)
		if errors.Is(err, ErrNoTasks) {
			return response{Answer: refuse(RefusedSchema, "%v", err)}, http.StatusNotFound
		}
		if err != nil {
			n.log.Error("making a task batch failed", "err", err)
			return response{Answer: Answer{Refused: "internal", Reason: "the gym failed to make a batch: try again later"}}, http.StatusInternalServerError
		}
		return response{Tasks: &b}, http.StatusOK
	case "cosign":
		if err := n.AddCosignature(req.Note); err != nil {
			return response{Answer: refuse(RefusedSignature, "%v", err)}, http.StatusBadRequest
		}
		return response{Data: n.Checkpoint()}, http.StatusOK
	}
	if req.Signed == nil {
		return response{Answer: refuse(RefusedSchema, "the request carries nothing signed")}, http.StatusBadRequest
	}
	var a Answer
	var err error
	switch req.Op {
	case "contribute":
		a, err = n.Contribute(ctx, *req.Signed)
	case "revoke":
		a, err = n.Revoke(ctx, *req.Signed)
	default:
		return response{Answer: refuse(RefusedSchema, "unknown operation %q", req.Op)}, http.StatusBadRequest
	}
	if err != nil {
		n.log.Error("gym request failed", "op", req.Op, "err", err)
		return response{Answer: Answer{Refused: "internal", Reason: "the gym failed to store it: try again later"}}, http.StatusInternalServerError
	}
	return response{Answer: a}, statusOf(a)
}

func statusOf(a Answer) int {
	switch a.Refused {
	case "":
		return http.StatusOK
	case RefusedReplay:
		return http.StatusConflict
	case RefusedRate:
		return http.StatusTooManyRequests
	case RefusedTooLarge:
		return http.StatusRequestEntityTooLarge
	case RefusedSignature, RefusedNotYours:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// HTTPHandler serves the gym over HTTP.
func (n *Node) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /manifest", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, n.Manifest())
	})
	// The log, as the tlog tile protocol serves it: plain bytes, so that
	// any mirror or tlog client can read it.
	mux.HandleFunc("GET /checkpoint", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(n.Checkpoint())
	})
	mux.HandleFunc("GET /tasks", func(w http.ResponseWriter, r *http.Request) {
		k, _ := strconv.Atoi(r.URL.Query().Get("n"))
		resp, status := n.handle(r.Context(), request{Op: "tasks", Set: r.URL.Query().Get("set"), N: k})
		if resp.Tasks == nil {
			writeJSON(w, status, resp.Answer)
			return
		}
		writeJSON(w, status, resp.Tasks)
	})
	mux.HandleFunc("POST /cosign", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, "a cosigned checkpoint is a signed note under 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		resp, status := n.handle(r.Context(), request{Op: "cosign", Note: b})
		if status != http.StatusOK {
			http.Error(w, resp.Reason, status)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(resp.Data)
	})
	mux.HandleFunc("GET /tile/", func(w http.ResponseWriter, r *http.Request) {
		b, err := n.Tile(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	for _, op := range []string{"contribute", "revoke"} {
		mux.HandleFunc("POST /"+op, func(w http.ResponseWriter, r *http.Request) {
			var s Signed
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxEnvelopeBytes)).Decode(&s); err != nil {
				code := RefusedSchema
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					code = RefusedTooLarge
				}
				a := refuse(code, "the body is not a signed JSON object within %d bytes: %v", MaxEnvelopeBytes, err)
				writeJSON(w, statusOf(a), a)
				return
			}
			resp, status := n.handle(r.Context(), request{Op: op, Signed: &s})
			writeJSON(w, status, resp.Answer)
		})
	}
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ServeP2P starts the gym's libp2p host on the given multiaddrs, with the
// gym's own key (its peer id is its gym id), and returns the full
// addresses (with /p2p/ID) to give contributors.
func (n *Node) ServeP2P(listen []string) (host.Host, []string, error) {
	priv, err := crypto.UnmarshalEd25519PrivateKey(n.key)
	if err != nil {
		return nil, nil, err
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.ListenAddrStrings(listen...), libp2p.DisableRelay())
	if err != nil {
		return nil, nil, fmt.Errorf("start the gym's libp2p host on %v: %w", listen, err)
	}
	h.SetStreamHandler(ProtocolID, func(s network.Stream) {
		defer s.Close()
		s.SetDeadline(time.Now().Add(2 * time.Minute))
		var req request
		if err := json.NewDecoder(io.LimitReader(s, MaxEnvelopeBytes+4096)).Decode(&req); err != nil {
			json.NewEncoder(s).Encode(response{Answer: refuse(RefusedSchema, "the request is not JSON within %d bytes: %v", MaxEnvelopeBytes, err)})
			return
		}
		resp, _ := n.handle(context.Background(), req)
		json.NewEncoder(s).Encode(resp)
	})
	var addrs []string
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String()+"/p2p/"+h.ID().String())
	}
	n.addr.Lock()
	n.addr.p2p = addrs
	n.addr.Unlock()
	return h, addrs, nil
}

// SetURL records the gym's HTTP address for its manifest.
func (n *Node) SetURL(u string) {
	n.addr.Lock()
	n.addr.url = u
	n.addr.Unlock()
}

// transport reaches one gym.
type transport interface {
	do(ctx context.Context, req request) (response, error)
}

// dialer makes a transport for an address; tests may replace it.
func transportFor(address string) (transport, error) {
	switch {
	case strings.HasPrefix(address, "http://") || strings.HasPrefix(address, "https://"):
		return &httpTransport{base: strings.TrimRight(address, "/"), client: &http.Client{Timeout: 2 * time.Minute}}, nil
	case strings.HasPrefix(address, "/"):
		m, err := ma.NewMultiaddr(address)
		if err != nil {
			return nil, fmt.Errorf("gym address %q: %w", address, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil {
			return nil, fmt.Errorf("gym address %q needs its peer id (/p2p/…): %w", address, err)
		}
		return &p2pTransport{info: *info}, nil
	}
	return nil, fmt.Errorf("gym address %q: give an http(s):// URL or a libp2p multiaddr ending in /p2p/PEER-ID", address)
}

type httpTransport struct {
	base   string
	client *http.Client
}

func (t *httpTransport) do(ctx context.Context, req request) (response, error) {
	method, path := http.MethodPost, "/"+req.Op
	var body io.Reader
	switch {
	case req.Op == "tile":
		path = "/" + req.Path
	case req.Op == "cosign":
		body = bytes.NewReader(req.Note)
	case req.Op == "tasks":
		path = "/tasks?set=" + url.QueryEscape(req.Set) + "&n=" + strconv.Itoa(req.N)
	}
	if readOps[req.Op] {
		method = http.MethodGet
	} else if body == nil {
		b, err := json.Marshal(req.Signed)
		if err != nil {
			return response{}, err
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, method, t.base+path, body)
	if err != nil {
		return response{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(hr)
	if err != nil {
		return response{}, fmt.Errorf("reach gym %s: %w", t.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return response{}, fmt.Errorf("read gym %s: %w", t.base, err)
	}
	var out response
	if req.Op == "checkpoint" || req.Op == "tile" || req.Op == "cosign" {
		if resp.StatusCode != http.StatusOK {
			return out, fmt.Errorf("gym %s answered %s for its %s: %s", t.base, resp.Status, req.Op, bytes.TrimSpace(b))
		}
		out.Data = b
		return out, nil
	}
	if req.Op == "tasks" {
		var s Signed
		if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &s) == nil && len(s.Sig) > 0 {
			out.Tasks = &s
			return out, nil
		}
		if json.Unmarshal(b, &out.Answer) != nil || out.Refused == "" {
			return out, fmt.Errorf("gym %s answered %s, not a task batch", t.base, resp.Status)
		}
		return out, nil
	}
	if req.Op == "manifest" {
		var m Signed
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &m) != nil {
			return out, fmt.Errorf("gym %s answered %s, not a manifest", t.base, resp.Status)
		}
		out.Manifest = &m
		return out, nil
	}
	if err := json.Unmarshal(b, &out.Answer); err != nil || (out.Receipt == nil && out.Refused == "") {
		return out, fmt.Errorf("gym %s answered %s with no receipt or reason", t.base, resp.Status)
	}
	return out, nil
}

// p2pTransport dials the gym with a fresh libp2p identity each time: never
// the device's sync identity, and nothing that links two gyms or two
// sends to the same gym beyond the network address.
type p2pTransport struct {
	info peer.AddrInfo
}

func (t *p2pTransport) do(ctx context.Context, req request) (response, error) {
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return response{}, err
	}
	h, err := libp2p.New(libp2p.Identity(priv), libp2p.NoListenAddrs, libp2p.DisableRelay())
	if err != nil {
		return response{}, err
	}
	defer h.Close()
	if err := h.Connect(ctx, t.info); err != nil {
		return response{}, fmt.Errorf("reach gym %s: %w", t.info.ID, err)
	}
	s, err := h.NewStream(ctx, t.info.ID, ProtocolID)
	if err != nil {
		return response{}, fmt.Errorf("open %s to gym %s: %w", ProtocolID, t.info.ID, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	} else {
		s.SetDeadline(time.Now().Add(2 * time.Minute))
	}
	if err := json.NewEncoder(s).Encode(req); err != nil {
		return response{}, fmt.Errorf("send to gym %s: %w", t.info.ID, err)
	}
	s.CloseWrite()
	var out response
	if err := json.NewDecoder(io.LimitReader(s, maxAnswerBytes)).Decode(&out); err != nil {
		return response{}, fmt.Errorf("read gym %s's answer: %w", t.info.ID, err)
	}
	return out, nil
}
