//go:build windows

package owner

// keyringReachable: the Credential Manager (go-keyring's wincred) is part
// of every Windows session, so there is nothing to look for first.
func keyringReachable() error { return nil }
