//go:build windows

package owner

// PrivateUmask does nothing on Windows, which has no umask and ignores the
// permission bits Go passes (0600 only sets or clears read-only). A file's
// access there comes from the ACL it inherits from its folder: under
// %LOCALAPPDATA% (the default home) that grants the user, SYSTEM and
// Administrators, not other users. A home placed elsewhere inherits that
// folder's ACL; docs/SECURITY.md says so.
func PrivateUmask() {}
