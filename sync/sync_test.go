package sync

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPairThenReplicateBothWaysAndLive(t *testing.T) {
	a, b := newDevice(t, "laptop"), newDevice(t, "desktop")
	if a.node.Running() || b.node.Running() {
		t.Fatal("sync is on before pairing")
	}
	a.add("written on the laptop before pairing")
	b.add("written on the desktop before pairing")
	pair(t, a, b)
	eventually(t, "both vaults hold both memories", converged(t, a.vault, b.vault))
	want := []string{"written on the desktop before pairing", "written on the laptop before pairing"}
	if got := texts(t, a.vault); !slices.Equal(got, want) {
		t.Fatalf("laptop has %q, want %q", got, want)
	}
	if got := texts(t, b.vault); !slices.Equal(got, want) {
		t.Fatalf("desktop has %q (its own memory must survive joining), want %q", got, want)
	}
	it := a.add("live after catch-up")
	eventually(t, "the live write reaches the desktop", func() bool { return slices.Contains(texts(t, b.vault), "live after catch-up") })
	b.edit(it.ID, "edited on the desktop")
	eventually(t, "the edit reaches the laptop", func() bool { return slices.Contains(texts(t, a.vault), "edited on the desktop") })
	eventually(t, "same records and revisions", converged(t, a.vault, b.vault))
	revs, err := a.vault.Revisions(context.Background(), it.ID)
	if err != nil || len(revs) != 1 || revs[0].Text != "live after catch-up" {
		t.Fatalf("laptop revisions of the edited memory: %+v, %v", revs, err)
	}
	if ms := a.node.Members(); len(ms) != 2 {
		t.Fatalf("laptop trusts %d devices, want 2", len(ms))
	}
}

func TestPairingSecretAttemptsAndExpiry(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	code, err := a.node.Pair(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wrong := code
	wrong.Secret = slices.Clone(code.Secret)
	wrong.Secret[0] ^= 1
	for i := range PairingAttempts {
		if err := b.node.Join(context.Background(), wrong.String()); !errors.Is(err, ErrWrongSecret) {
			t.Fatalf("try %d with a wrong secret: %v, want ErrWrongSecret", i+1, err)
		}
	}
	if err := b.node.Join(context.Background(), code.String()); !errors.Is(err, ErrCodeLocked) || !errors.Is(err, ErrNoInvite) {
		t.Fatalf("the right secret after %d wrong tries: %v, want the code to be closed (ErrCodeLocked)", PairingAttempts, err)
	}
	if len(a.node.Members()) != 0 || len(b.node.Members()) != 0 {
		t.Fatal("a failed pairing left a trusted device behind")
	}

	code, err = a.node.Pair(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.node.mu.Lock()
	a.node.invite.expires = time.Now().Add(-time.Second)
	a.node.mu.Unlock()
	if err := b.node.Join(context.Background(), code.String()); !errors.Is(err, ErrCodeExpired) {
		t.Fatalf("an expired code: %v, want ErrCodeExpired", err)
	}
	// A device that was never connected hears the same reason, not
	// "connection failed".
	late := newDevice(t, "late")
	if err := late.node.Join(context.Background(), code.String()); !errors.Is(err, ErrCodeExpired) {
		t.Fatalf("an expired code from a new device: %v, want ErrCodeExpired", err)
	}

	code, _ = a.node.Pair(context.Background())
	if err := b.node.Join(context.Background(), code.String()); err != nil {
		t.Fatalf("a fresh code: %v", err)
	}
	c := newDevice(t, "c")
	if err := c.node.Join(context.Background(), code.String()); !errors.Is(err, ErrCodeUsed) {
		t.Fatalf("a used code on a second device: %v, want ErrCodeUsed", err)
	}
	if _, err := ParseCode("CAIRN1-NOTACODE"); err == nil {
		t.Fatal("garbage parsed as a code")
	}
}
