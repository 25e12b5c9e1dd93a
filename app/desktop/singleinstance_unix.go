//go:build !windows

package desktop

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/wailsapp/wails/v2/pkg/options"

	"github.com/cairnlabs/cairn/app/owner"
)

// focusRunningWindow asks the window already open on this data folder to
// come to the front, the way Wails' single-instance lock does (a D-Bus
// call on Linux), and reports whether one answered. It runs before this
// process claims the home, so a second launch hands over instead of
// failing on the owner lock.
func (c *window) focusRunningWindow() bool {
	if !owner.SessionBusLikely() {
		return false
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return false
	}
	id := "wails_app_" + strings.NewReplacer("-", "_", ".", "_").Replace(c.instanceID())
	name, path := "org."+id+".SingleInstance", dbus.ObjectPath("/org/"+id+"/SingleInstance")
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil || !has {
		return false
	}
	wd, _ := os.Getwd()
	msg, _ := json.Marshal(options.SecondInstanceData{Args: os.Args[1:], WorkingDirectory: wd})
	return conn.Object(name, path).Call(name+".SendMessage", 0, string(msg)).Err == nil
}
