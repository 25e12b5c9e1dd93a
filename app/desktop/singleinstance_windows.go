//go:build windows

package desktop

import (
	"encoding/json"
	"os"
	"unsafe"

	"github.com/wailsapp/wails/v2/pkg/options"
	"golang.org/x/sys/windows"
)

var (
	user32          = windows.NewLazySystemDLL("user32.dll")
	procFindWindowW = user32.NewProc("FindWindowW")
	procSendMessage = user32.NewProc("SendMessageW")
)

// wmCopyData and singleInstanceData are what Wails' Windows single-instance
// lock (internal/frontend/desktop/windows/single_instance.go) listens for:
// WM_COPYDATA with dwData 1542 and the JSON of SecondInstanceData.
const (
	wmCopyData         = 0x004A
	singleInstanceData = 1542
)

type copyDataStruct struct {
	dwData uintptr
	cbData uint32
	lpData uintptr
}

// focusRunningWindow asks the window already open on this data folder to
// come to the front, the way Wails' single-instance lock does (a message
// to its hidden event window on Windows), and reports whether one
// answered. It runs before this process claims the home, so a second
// launch hands over instead of failing on the owner lock.
func (c *window) focusRunningWindow() bool {
	id := "wails-app-" + c.instanceID()
	class, _ := windows.UTF16PtrFromString(id + "-sic")
	title, _ := windows.UTF16PtrFromString(id + "-siw")
	hwnd, _, _ := procFindWindowW.Call(uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(title)))
	if hwnd == 0 {
		return false
	}
	wd, _ := os.Getwd()
	msg, _ := json.Marshal(options.SecondInstanceData{Args: os.Args[1:], WorkingDirectory: wd})
	text, err := windows.UTF16FromString(string(msg))
	if err != nil {
		return false
	}
	cd := copyDataStruct{dwData: singleInstanceData, cbData: uint32(len(text) * 2), lpData: uintptr(unsafe.Pointer(&text[0]))}
	procSendMessage.Call(hwnd, wmCopyData, 0, uintptr(unsafe.Pointer(&cd)))
	return true
}
