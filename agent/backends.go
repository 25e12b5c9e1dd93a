package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Backends are the model servers the agent may use. The first is the
// default; a model named "NAME/MODEL", where NAME is another backend's
// name, runs there.
type Backends struct {
	list []Backend
	// allowMemory lists remote backends the person allowed to receive
	// memories and history.
	allowMemory map[string]bool
	// remote marks backends that are remote though their URL is loopback
	// (an SSH tunnel to another machine, say).
	remote map[string]bool

	mu   sync.Mutex
	info map[string]ModelInfo // "backend\x00model" → show result
	// devices supplies the backends of the person's other devices, which
	// come and go as devices pair, leave and rename.
	devices BackendSource
}

// BackendSource supplies backends that come and go: the models of the
// person's other devices.
type BackendSource interface {
	Backends() []Backend
}

// ownDevice is a backend on one of the person's own trusted devices
// (Device), which holds the vault key already.
type ownDevice interface{ OwnDevice() bool }

func isOwnDevice(b Backend) bool {
	d, ok := b.(ownDevice)
	return ok && d.OwnDevice()
}

// NewBackends returns the set; names must be unique and non-empty.
func NewBackends(list ...Backend) (*Backends, error) {
	if len(list) == 0 {
		return nil, errors.New("no model backend configured")
	}
	seen := map[string]bool{}
	for _, b := range list {
		if b.Name() == "" || strings.ContainsAny(b.Name(), "/ ") || seen[b.Name()] {
			return nil, fmt.Errorf("backend name %q must be unique, non-empty, without '/' or spaces", b.Name())
		}
		seen[b.Name()] = true
	}
	return &Backends{list: list, allowMemory: map[string]bool{}, remote: map[string]bool{}, info: map[string]ModelInfo{}}, nil
}

// AllowMemory lets a remote backend receive memories and history (off by
// default); loopback backends always may.
func (bs *Backends) AllowMemory(name string, allow bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.allowMemory[name] = allow
}

// MarkRemote treats a backend as remote even though it listens on
// loopback: a tunnel to another machine looks local but is not.
func (bs *Backends) MarkRemote(name string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.remote[name] = true
}

// Remote reports whether a backend runs on another machine.
func (bs *Backends) Remote(b Backend) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.remote[b.Name()] || !IsLoopback(b.URL())
}

// SetDevices sets where the backends of the person's other devices come
// from; their models are "DEVICE/MODEL" beside the configured backends'.
func (bs *Backends) SetDevices(src BackendSource) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.devices = src
}

// Default is the first backend.
func (bs *Backends) Default() Backend { return bs.list[0] }

// All lists the backends in order: the configured ones, then the other
// devices' (one whose name a configured backend has is left out).
func (bs *Backends) All() []Backend {
	bs.mu.Lock()
	src := bs.devices
	bs.mu.Unlock()
	if src == nil {
		return bs.list
	}
	out := slices.Clone(bs.list)
	for _, d := range src.Backends() {
		if !slices.ContainsFunc(out, func(b Backend) bool { return b.Name() == d.Name() }) {
			out = append(out, d)
		}
	}
	return out
}

// Get returns a backend by name.
func (bs *Backends) Get(name string) (Backend, bool) {
	for _, b := range bs.All() {
		if b.Name() == name {
			return b, true
		}
	}
	return nil, false
}

// Resolve splits a model reference into its backend and the backend's
// name for the model.
func (bs *Backends) Resolve(model string) (Backend, string, error) {
	model = strings.TrimSpace(model)
	if model == "" {
		return nil, "", fmt.Errorf("%w: pass --model, or set a default model in settings (`cairn models` lists them)", ErrNoModel)
	}
	if name, rest, ok := strings.Cut(model, "/"); ok && rest != "" {
		if b, ok := bs.Get(name); ok && b != bs.list[0] {
			return b, rest, nil
		}
	}
	return bs.list[0], model, nil
}

// ReceivesMemory says whether memories and history may be sent to a
// backend: always for one on this machine, for a remote one only when the
// person allowed it.
func (bs *Backends) ReceivesMemory(b Backend) bool {
	if !bs.Remote(b) || isOwnDevice(b) {
		return true
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.allowMemory[b.Name()]
}

// Show returns a model's description, cached: capabilities do not change
// while a model keeps its name. Another device's are asked each time:
// that says at once, before anything is stored, when it went offline.
func (bs *Backends) Show(ctx context.Context, b Backend, model string) (ModelInfo, error) {
	if isOwnDevice(b) {
		return b.Show(ctx, model)
	}
	key := b.Name() + "\x00" + model
	bs.mu.Lock()
	info, ok := bs.info[key]
	bs.mu.Unlock()
	if ok {
		return info, nil
	}
	info, err := b.Show(ctx, model)
	if err != nil {
		return ModelInfo{}, err
	}
	bs.mu.Lock()
	bs.info[key] = info
	bs.mu.Unlock()
	return info, nil
}

// Forget drops cached model descriptions (after a pull or delete).
func (bs *Backends) Forget() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	clear(bs.info)
}

// BackendStatus says how a backend is doing, for doctor and the API.
type BackendStatus struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Remote         bool   `json:"remote"`
	ReceivesMemory bool   `json:"receives_memory"`
	Reachable      bool   `json:"reachable"`
	Models         int    `json:"models"`
	Error          string `json:"error,omitempty"`
}

// Status checks every backend.
func (bs *Backends) Status(ctx context.Context) []BackendStatus {
	all := bs.All()
	out := make([]BackendStatus, 0, len(all))
	for _, b := range all {
		s := BackendStatus{Name: b.Name(), URL: b.URL().Redacted(), Remote: bs.Remote(b), ReceivesMemory: bs.ReceivesMemory(b)}
		models, err := b.Models(ctx)
		if err != nil {
			s.Error = err.Error()
		} else {
			s.Reachable, s.Models = true, len(models)
		}
		out = append(out, s)
	}
	return out
}
