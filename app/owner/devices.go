package owner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cairnlabs/cairn/agent"
	cairnsync "github.com/cairnlabs/cairn/sync"
)

// deviceBackends gives the agent a backend for each of the person's other
// devices (members of the sync node's trusted set), so that their models
// are "DEVICE/MODEL" wherever a model is named.
type deviceBackends struct {
	node *cairnsync.Node

	mu     sync.Mutex
	byPeer map[peer.ID]*agent.Device
}

func newDeviceBackends(node *cairnsync.Node) *deviceBackends {
	return &deviceBackends{node: node, byPeer: map[peer.ID]*agent.Device{}}
}

// Backends implements agent.BackendSource. A device keeps its backend (and
// the models it last offered) while its name stays the same.
func (d *deviceBackends) Backends() []agent.Backend {
	members := d.node.Members()
	d.mu.Lock()
	defer d.mu.Unlock()
	taken := map[string]bool{"ollama": true}
	var out []agent.Backend
	for _, m := range members {
		if m.Peer == d.node.ID() || m.Role != cairnsync.RoleDevice {
			continue
		}
		name := deviceName(m, taken)
		taken[name] = true
		b, ok := d.byPeer[m.Peer]
		if !ok || b.Name() != name {
			b = agent.NewDevice(name, d.node.InferTransport(m.Peer))
			d.byPeer[m.Peer] = b
		}
		out = append(out, b)
	}
	return out
}

// deviceName is how models of member m are prefixed: its name, made fit
// for "NAME/MODEL", or with its peer id's end when another device (or
// "ollama") has the name.
func deviceName(m cairnsync.Member, taken map[string]bool) string {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\t' {
			return '-'
		}
		return r
	}, strings.TrimSpace(m.Name))
	if name == "" || taken[name] {
		id := m.Peer.String()
		name = cmpOr(name, "device") + "-" + id[len(id)-6:]
	}
	return name
}

// useDevices gives the session's agent the models of the person's other
// devices, reached through node: the one assembly of device backends, for
// the owner (attachSync) and for a command that runs without one
// (ReachDevices).
func (sess *Session) useDevices(node *cairnsync.Node) {
	sess.Backends.SetDevices(newDeviceBackends(node))
}

// ReachDevices lets a command that runs with no owner (`cairn chat`,
// `cairn models` without `cairn serve`) use the models of the person's
// other devices as DEVICE/MODEL: it starts this device's sync node for
// the session's life (Session.Close stops it). While the node runs it also
// syncs, as the owner's would. A device never paired has no devices to
// reach: nothing is started, and nothing is written to its home.
func (c *Env) ReachDevices(ctx context.Context, sess *Session) error {
	if sess.SyncNode != nil || !cairnsync.HasTrustedSet(c.syncDir()) {
		return nil
	}
	node, err := c.StartSync(ctx, sess.Vault)
	if err != nil {
		return fmt.Errorf("reach your other devices: %w (their models are not listed; `cairn serve` keeps sync running)", err)
	}
	sess.SyncNode = node
	sess.useDevices(node)
	return nil
}

// attachSync gives the session's agent the other devices' models and,
// when the settings say so, offers this device's models to them.
func (a *uiApp) attachSync(sess *Session, node *cairnsync.Node) {
	if sess == nil || node == nil {
		return
	}
	sess.useDevices(node)
	a.mu.Lock()
	a.node = node
	a.mu.Unlock()
	applyShare(sess.Settings.ShareModels, sess.Ollama, node)
}

// applyShare turns the offer of this device's Ollama on or off.
func applyShare(on bool, ollama *agent.Ollama, node *cairnsync.Node) {
	if node == nil {
		return
	}
	if on && ollama != nil {
		node.ShareModels(ollama.URL())
		slog.Info("this device's models are offered to your other devices")
		return
	}
	node.ShareModels(nil)
}
