package memory

import (
	"context"
	"errors"
	"testing"
)

func TestDeviceKeyOpensVaultUntilRemoved(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, nil)
	v, _, err := Create(ctx, cfg, testPass)
	if err != nil {
		t.Fatal(err)
	}
	it := mustAdd(t, v, "my bike lock code is 4711")
	if _, err := v.AddDeviceKey(ctx, []byte("not the passphrase")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("device key with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	secret, err := v.AddDeviceKey(ctx, testPass)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()

	v2, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if has, err := v2.HasDeviceKey(ctx); err != nil || !has {
		t.Fatalf("HasDeviceKey = %v, %v; want true", has, err)
	}
	if err := v2.UnlockWithDeviceKey(ctx, randomBytes(keySize)); !errors.Is(err, ErrNoDeviceKey) || !v2.Locked() {
		t.Fatalf("a wrong device key: %v (locked %v), want ErrNoDeviceKey and still locked", err, v2.Locked())
	}
	if err := v2.UnlockWithDeviceKey(ctx, secret); err != nil {
		t.Fatalf("device key: %v", err)
	}
	if got, err := v2.Get(ctx, it.ID); err != nil || got.Text != "my bike lock code is 4711" {
		t.Fatalf("read after device-key unlock: %+v %v", got, err)
	}
	if err := v2.RemoveDeviceKey(ctx); err != nil {
		t.Fatal(err)
	}
	v2.Lock()
	if err := v2.UnlockWithDeviceKey(ctx, secret); !errors.Is(err, ErrNoDeviceKey) {
		t.Fatalf("a removed device key: %v, want ErrNoDeviceKey", err)
	}
	if err := v2.Unlock(ctx, testPass); err != nil {
		t.Fatalf("the passphrase must still open the vault: %v", err)
	}
}
