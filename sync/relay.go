package sync

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

func autorelayBoot() []autorelay.Option {
	return []autorelay.Option{autorelay.WithBootDelay(0), autorelay.WithBackoff(5 * time.Second)}
}

// NewRelay starts libp2p's circuit relay v2 service (cairn relay): it
// forwards Noise-encrypted connections between devices that cannot reach
// each other, and sees only ciphertext and peer ids.
func NewRelay(key crypto.PrivKey, listen []string) (host.Host, error) {
	if len(listen) == 0 {
		listen = DefaultListen
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ForceReachabilityPublic(),
		libp2p.EnableRelayService(relayv2.WithResources(relayResources())),
		libp2p.EnableNATService(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("start the relay on %v: %w", listen, err)
	}
	return h, nil
}

// relayResources are libp2p's defaults but for what one relayed connection
// may carry: libp2p's 128 KiB and 2 minutes cut a long reply of another
// device's model (or a catch-up of many records) in the middle. An hour and
// 1 GiB, then the devices dial again.
func relayResources() relayv2.Resources {
	r := relayv2.DefaultResources()
	r.Limit = &relayv2.RelayLimit{Duration: time.Hour, Data: 1 << 30}
	return r
}
