package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/ollama/ollama/api"
)

// Errors of another device's models, wrapped with what happened.
var (
	// ErrDeviceOffline means the device that runs the model is not
	// reachable now; nothing was sent and nothing changed.
	ErrDeviceOffline = errors.New("device offline")
	// ErrNotShared means the device does not offer its models (its
	// sharing is off, or it removed this device).
	ErrNotShared = errors.New("device does not share its models")
)

// Device is a backend for the models of another of the person's own
// devices: that device's Ollama, reached through rt (the paired sync mesh,
// sync.Node.InferTransport). The device is trusted and holds the vault key
// already, so memories and history may go to it.
type Device struct {
	*Ollama
	mu   sync.Mutex
	last []ModelInfo // what it offered when last reached
}

// NewDevice returns the backend for device name's models, reached through
// rt; name is what the person calls the device, and models are "NAME/MODEL".
func NewDevice(name string, rt http.RoundTripper) *Device {
	u := &url.URL{Scheme: "http", Host: "device.invalid"} // the transport ignores the host
	d := &Device{Ollama: &Ollama{name: name, url: u, client: api.NewClient(u, &http.Client{Transport: rt})}}
	d.explainFn = d.explain
	return d
}

// OwnDevice marks the backend as one of the person's own trusted devices.
func (d *Device) OwnDevice() bool { return true }

// Models lists the device's models; while it is offline, the ones it had
// when last reached, each marked offline.
func (d *Device) Models(ctx context.Context) ([]ModelInfo, error) {
	models, err := d.Ollama.Models(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		for i := range models {
			models[i].Device = d.name
		}
		d.last = slices.Clone(models)
		return models, nil
	}
	if errors.Is(err, ErrDeviceOffline) && d.last != nil {
		out := slices.Clone(d.last)
		for i := range out {
			out[i].Offline = true
		}
		return out, nil
	}
	return nil, err
}

// explain words the device's errors: a transport error means the device
// is out of reach, not that Ollama is down here.
func (d *Device) explain(err error, model string) error {
	var se api.StatusError
	if errors.As(err, &se) {
		msg := cmpStr(se.ErrorMessage, se.Status)
		switch {
		case se.StatusCode == http.StatusForbidden:
			return &deviceError{msg: msg, kinds: []error{ErrNotShared}}
		case model != "" && (se.StatusCode == http.StatusNotFound || strings.Contains(msg, "not found")):
			return fmt.Errorf("%w: %q is not on your device %s (%s): pull it there, or pick one from `cairn models`", ErrModelNotFound, model, d.name, msg)
		}
		return fmt.Errorf("%s: %s", d.name, msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is a placeholder: the device is the address
	}
	return &deviceError{
		msg:   fmt.Sprintf("your device %s is not reachable now: nothing was sent; chat again once it is on and online, or pick a model of this device (%v)", d.name, err),
		kinds: []error{ErrUnavailable, ErrDeviceOffline},
	}
}

// deviceError is a sentence for the person that is also each of kinds
// (errors.Is), without their words in front of it.
type deviceError struct {
	msg   string
	kinds []error
}

func (e *deviceError) Error() string        { return e.msg }
func (e *deviceError) Is(target error) bool { return slices.Contains(e.kinds, target) }

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
