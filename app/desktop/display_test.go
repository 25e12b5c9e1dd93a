package desktop

import "testing"

func TestNoDisplayReason(t *testing.T) {
	for _, tc := range []struct {
		display, wayland, ssh, force string
		window                       bool
	}{
		{display: ":0", window: true},
		{wayland: "wayland-0", window: true},
		{},
		{display: "localhost:10.0", ssh: "10.0.0.2 50000 10.0.0.1 22"},
		{display: "localhost:10.0", ssh: "10.0.0.2 50000 10.0.0.1 22", force: "1", window: true},
	} {
		t.Setenv("DISPLAY", tc.display)
		t.Setenv("WAYLAND_DISPLAY", tc.wayland)
		t.Setenv("SSH_CONNECTION", tc.ssh)
		t.Setenv("SSH_TTY", "")
		t.Setenv("CAIRN_WINDOW", tc.force)
		if got := NoDisplayReason(); (got == "") != tc.window {
			t.Errorf("%+v: NoDisplayReason() = %q, want a window: %v", tc, got, tc.window)
		}
	}
}
