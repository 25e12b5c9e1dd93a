package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/api"
	cairnsync "github.com/cairnlabs/cairn/sync"
)

func (c *cli) addSyncFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&c.Sync.Listen, "p2p-listen", nil, "sync listen multiaddrs once sync is on (default: every interface, random port, TCP and QUIC)")
	cmd.Flags().StringSliceVar(&c.Sync.Relays, "p2p-relay", nil, "circuit relay v2 servers to be reached through (multiaddr ending in /p2p/ID; see cairn relay)")
	cmd.Flags().StringVar(&c.Sync.Name, "device-name", "", "the name your other devices know this one by when it pairs, and prefix its models with (default: the host name)")
}

func (c *cli) syncCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Pair devices and keep their vaults in step, peer to peer",
		Long: `Sync runs in the process that owns this home (cairn serve, or the desktop
app); these commands talk to it. It is off until you pair a device: no port
is opened and nothing is announced before that.`,
	}
	cmd.AddCommand(c.syncStatus(), c.syncPair(), c.syncJoin(), c.syncDevices(), c.syncRemove(), c.syncOn(), c.syncBackupNode())
	return cmd
}

// owner is the client of the process that runs sync, or a plain error.
func (c *cli) syncOwner() (*ownerClient, error) {
	oc, ok := c.ownerClient()
	if !ok {
		return nil, fmt.Errorf("no cairn process serves %s, and sync runs in it: start `cairn serve` (or open the desktop app), then run this again", c.Home().Dir)
	}
	return oc, nil
}

func (c *cli) syncCall(ctx context.Context, method, path string, in, out any) error {
	oc, err := c.syncOwner()
	if err != nil {
		return err
	}
	return oc.do(ctx, method, path, nil, in, out)
}

func (c *cli) printSyncStatus(st cairnsync.Status) {
	state := "off (not paired: no port open, nothing announced)"
	if st.On {
		state = "on"
	}
	fmt.Fprintf(c.Stdout, "Sync:       %s\nThis device: %s\n", state, st.Peer)
	for _, a := range st.Addrs {
		fmt.Fprintf(c.Stdout, "  listening %s\n", a)
	}
	if st.KeyEpoch > 0 {
		fmt.Fprintf(c.Stdout, "Key epoch:  %d\n", st.KeyEpoch)
	}
	if st.Pairing {
		fmt.Fprintln(c.Stdout, "A pairing code is open.")
	}
	for _, p := range st.Peers {
		conn := "offline"
		if p.Connected {
			conn = "connected"
			if p.CaughtUp {
				conn += ", caught up"
			}
		}
		fmt.Fprintf(c.Stdout, "  %-8s %-20s %s  sent %d, received %d", p.Role, p.Name, conn, p.Sent, p.Received)
		if p.LastError != "" {
			fmt.Fprintf(c.Stdout, "  (last error: %s)", p.LastError)
		}
		fmt.Fprintf(c.Stdout, "\n           %s\n", p.Peer)
	}
}

func (c *cli) syncStatus() *cobra.Command {
	return &cobra.Command{
		Use: "status", Short: "Whether sync is on, and each device's progress", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st cairnsync.Status
			if err := c.syncCall(cmd.Context(), "GET", "/api/v1/sync", nil, &st); err != nil {
				return err
			}
			c.printSyncStatus(st)
			return nil
		},
	}
}

func (c *cli) syncPair() *cobra.Command {
	var qr bool
	cmd := &cobra.Command{
		Use:   "pair",
		Short: "Show a one-time code for another device to join this vault",
		Long: `Prints a code (peer id, addresses, a one-time secret) and returns; the
pairing completes in the background when the other device runs
` + "`cairn sync join CODE`" + `. The code works once, for 10 minutes and 5 tries.
On the same network a short code (like 7K3M-9QXA, printed too) is enough:
the other device finds this one by mDNS. Across networks use the long code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out api.PairBody
			if err := c.syncCall(cmd.Context(), "POST", "/api/v1/sync/pair", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "%s\n", out.Code)
			if qr {
				q, err := qrcode.New(out.Code, qrcode.Medium)
				if err != nil {
					return err
				}
				fmt.Fprint(c.Stderr, q.ToSmallString(false))
			}
			fmt.Fprintf(c.Stderr, "On the other device: cairn sync join %s\n", out.Code)
			if out.Short != "" {
				fmt.Fprintf(c.Stderr, "On the same network, the short code is enough: cairn sync join %s\n", out.Short)
			}
			fmt.Fprintf(c.Stderr, "The code works once, until %s. `cairn sync devices` shows when the device is in.\n",
				out.ExpiresAt.Local().Format(time.TimeOnly))
			return nil
		},
	}
	cmd.Flags().BoolVar(&qr, "qr", false, "also draw the code as a QR code in the terminal, for a phone's camera")
	return cmd
}

func (c *cli) syncJoin() *cobra.Command {
	return &cobra.Command{
		Use:   "join CODE",
		Short: "Join the vault of the device that showed CODE",
		Long: `CODE is the long code ` + "`cairn sync pair`" + ` printed, or its short code
(7K3M-9QXA) when both devices are on the same network. This device adopts
the other device's vault keys; the memories it already holds are kept and
merged with the other device's, nothing is lost.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, short := cairnsync.NormalizeShortCode(args[0]); !short {
				if _, err := cairnsync.ParseCode(args[0]); err != nil {
					return usageError{fmt.Errorf("%w, or the short code (like 7K3M-9QXA) on the same network", err)}
				}
			}
			var st cairnsync.Status
			if err := c.syncCall(cmd.Context(), "POST", "/api/v1/sync/join", map[string]string{"code": args[0]}, &st); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "Paired. This vault now syncs with %s; the memories already here are kept and merged with theirs.\n", countOf(len(st.Members)-1, "other device"))
			return nil
		},
	}
}

func (c *cli) syncDevices() *cobra.Command {
	return &cobra.Command{
		Use: "devices", Short: "The trusted devices of this vault", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Devices []cairnsync.Member `json:"devices"`
				Self    string             `json:"self"`
			}
			if err := c.syncCall(cmd.Context(), "GET", "/api/v1/sync/devices", nil, &out); err != nil {
				return err
			}
			if len(out.Devices) == 0 {
				fmt.Fprintln(c.Stdout, "No devices paired yet: `cairn sync pair` shows a code.")
				return nil
			}
			for _, d := range out.Devices {
				me := ""
				if d.Peer.String() == out.Self {
					me = "  (this device)"
				}
				fmt.Fprintf(c.Stdout, "%-8s %-20s %s  added %s%s\n", d.Role, d.Name, d.Peer, d.AddedAt.Local().Format(time.DateTime), me)
			}
			return nil
		},
	}
}

func (c *cli) syncRemove() *cobra.Command {
	return &cobra.Command{
		Use:   "remove DEVICE",
		Short: "Stop syncing with a device (peer id or name) and rotate the vault key",
		Long: `Every peer, the backup node included, stops talking to the device, and
records written from now on are sealed under a new key it never gets. What it
already holds stays with it: see docs/SECURITY.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st cairnsync.Status
			if err := c.syncCall(cmd.Context(), "DELETE", "/api/v1/sync/devices/"+url.PathEscape(args[0]), nil, &st); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "Removed %s. New records are sealed under key epoch %d.\n", args[0], st.KeyEpoch)
			return nil
		},
	}
}

func (c *cli) syncOn() *cobra.Command {
	return &cobra.Command{
		Use: "on", Short: "Turn sync on before pairing (listen, announce on the LAN)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st cairnsync.Status
			if err := c.syncCall(cmd.Context(), "POST", "/api/v1/sync/enable", nil, &st); err != nil {
				return err
			}
			c.printSyncStatus(st)
			return nil
		},
	}
}

func (c *cli) syncBackupNode() *cobra.Command {
	var dir, join string
	cmd := &cobra.Command{
		Use:   "backup-node",
		Short: "Run a backup node: stores and forwards sealed records, never holds the vault key",
		Long: `An always-on machine that keeps your devices in step when they are never
online together. It holds only sealed records and the trusted-devices list,
and enforces that list. Join it once with a code from a device
(` + "`cairn sync pair`" + ` there, then ` + "`--join CODE`" + ` here).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dir == "" {
				dir = filepath.Join(c.Home().Dir, "backup-node")
			}
			st, err := cairnsync.OpenBackupStore(ctx, filepath.Join(dir, "records.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			name, _ := os.Hostname()
			n, err := cairnsync.New(ctx, cairnsync.Config{Dir: filepath.Join(dir, "sync"), Store: st, Role: cairnsync.RoleBackup,
				Name: name + " (backup)", Listen: c.Sync.Listen, Relays: c.Sync.Relays, Logger: slog.Default()})
			if err != nil {
				return err
			}
			defer n.Close()
			if join != "" {
				if err := n.Join(ctx, join); err != nil {
					return err
				}
				fmt.Fprintln(c.Stderr, "Joined: this backup node now stores and forwards the vault's sealed records.")
			} else if err := n.Enable(); err != nil {
				return err
			}
			fmt.Fprintf(c.Stderr, "Backup node %s in %s, listening on:\n", n.ID(), dir)
			for _, a := range n.Addrs() {
				fmt.Fprintf(c.Stderr, "  %s\n", a)
			}
			if len(n.Members()) == 0 {
				fmt.Fprintln(c.Stderr, "Not joined yet: run `cairn sync pair` on a device and restart this with --join CODE.")
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "where the backup node keeps its store and identity (default $CAIRN_HOME/backup-node)")
	cmd.Flags().StringVar(&join, "join", "", "a pairing code from a device, the first time")
	c.addSyncFlags(cmd)
	return cmd
}

func (c *cli) relayCommand() *cobra.Command {
	var listen []string
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run a libp2p circuit relay v2 for devices that cannot reach each other",
		Long: `Devices behind NATs reach each other through it (pass its address to
` + "`cairn serve --p2p-relay`" + `), then try to connect directly (hole punching).
It forwards Noise-encrypted connections and sees only peer ids and traffic sizes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := relayKey(filepath.Join(c.Home().Dir, "relay.key"))
			if err != nil {
				return err
			}
			h, err := cairnsync.NewRelay(key, listen)
			if err != nil {
				return err
			}
			defer h.Close()
			fmt.Fprintln(c.Stderr, "Relay running. Devices use it with --p2p-relay and one of:")
			for _, a := range h.Addrs() {
				fmt.Fprintf(c.Stdout, "%s/p2p/%s\n", a, h.ID())
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&listen, "p2p-listen", nil, "listen multiaddrs (default: every interface, random port, TCP and QUIC)")
	return cmd
}

// relayKey keeps the relay's identity (mode 0600) so its address stays the
// same across restarts.
func relayKey(path string) (crypto.PrivKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return crypto.UnmarshalPrivateKey(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	b, _ := crypto.MarshalPrivateKey(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, b, 0o600)
}
