package sync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

func TestNormalizeShortCode(t *testing.T) {
	for in, want := range map[string]string{
		"7K3M-9QXA":   "7K3M9QXA",
		" 7k3m 9qxa ": "7K3M9QXA",
		"OIL1-2345":   "0111" + "2345",
		"7K3M9QX":     "",
		"not-a-code":  "",
		"7K-3M9QXA":   "",
		"7K3M-9QXU":   "", // U is not in the alphabet
		"CAIRN1-AAAA": "",
	} {
		got, ok := NormalizeShortCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeShortCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	c := newShortCode()
	if n, ok := NormalizeShortCode(strings.ToLower(FormatShortCode(c))); !ok || n != c || len(FormatShortCode(c)) != ShortCodeLen+1 {
		t.Fatalf("a new code %q does not read back (%q, %v)", c, n, ok)
	}
}

// inviterAddrs are the inviting device's loopback addresses with /p2p/ID:
// where a person's LAN has mDNS, these are found instead (netns test).
func inviterAddrs(t *testing.T, d *device) []ma.Multiaddr {
	t.Helper()
	var out []ma.Multiaddr
	for _, s := range d.node.Addrs() {
		out = append(out, ma.StringCast(s))
	}
	return out
}

// TestShortCodePairsAndKeepsBothVaults: the joining device types the
// short code (any case, with or without the dash); the PAKE turns it into
// the pairing secret, and both devices end with both vaults' memories.
func TestShortCodePairsAndKeepsBothVaults(t *testing.T) {
	ctx := context.Background()
	a, b := newDevice(t, "laptop"), newDevice(t, "phone")
	a.add("on the laptop before pairing")
	b.add("on the phone before pairing")
	code, err := a.node.Pair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(code.Short) != ShortCodeLen {
		t.Fatalf("the pairing code has no short form: %+v", code)
	}
	typed := strings.ToLower(FormatShortCode(code.Short))
	if err := b.node.JoinShort(ctx, typed, inviterAddrs(t, a)); err != nil {
		t.Fatalf("join with the short code %q: %v", typed, err)
	}
	eventually(t, "both vaults hold both memories", converged(t, a.vault, b.vault))
	want := []string{"on the laptop before pairing", "on the phone before pairing"}
	if got := texts(t, b.vault); !slices.Equal(got, want) {
		t.Fatalf("the joining device has %q: its own memory must be kept and merged, want %q", got, want)
	}
	if len(a.node.Members()) != 2 || len(b.node.Members()) != 2 {
		t.Fatalf("members: %d and %d, want 2", len(a.node.Members()), len(b.node.Members()))
	}
	// The code is spent.
	c := newDevice(t, "tablet")
	if err := c.node.JoinShort(ctx, code.Short, inviterAddrs(t, a)); err == nil {
		t.Fatal("a used short code paired a second device")
	}
}

// TestWrongShortCodeFailsCleanlyAndIsRateLimited: a wrong short code says
// so; each attempt is one guess, and after PairingAttempts the code is
// closed, so the right code no longer works and nothing was trusted.
func TestWrongShortCodeFailsCleanlyAndIsRateLimited(t *testing.T) {
	ctx := context.Background()
	a, b := newDevice(t, "a"), newDevice(t, "b")
	code, err := a.node.Pair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wrong := []byte(code.Short)
	wrong[0] = shortAlphabet[(strings.IndexByte(shortAlphabet, wrong[0])+1)%len(shortAlphabet)]
	for i := range PairingAttempts {
		err := b.node.JoinShort(ctx, string(wrong), inviterAddrs(t, a))
		if !errors.Is(err, ErrWrongShortCode) {
			t.Fatalf("try %d with a wrong short code: %v, want ErrWrongShortCode", i+1, err)
		}
		if !strings.Contains(err.Error(), "check it") {
			t.Fatalf("the error does not say what to do: %v", err)
		}
	}
	if err := b.node.JoinShort(ctx, code.Short, inviterAddrs(t, a)); !errors.Is(err, ErrNoInvite) {
		t.Fatalf("the right code after %d wrong tries: %v, want the code closed", PairingAttempts, err)
	}
	if len(a.node.Members()) != 0 || len(b.node.Members()) != 0 {
		t.Fatal("a failed pairing left a trusted device behind")
	}
	// The long code of the same invitation is closed too; a new one works.
	if err := b.node.Join(ctx, code.String()); !errors.Is(err, ErrNoInvite) {
		t.Fatalf("the long code of a closed invitation: %v", err)
	}
	code, _ = a.node.Pair(ctx)
	if err := b.node.Join(ctx, code.String()); err != nil {
		t.Fatalf("a fresh long code: %v", err)
	}
}
