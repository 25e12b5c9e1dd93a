package owner

import (
	"runtime/debug"
)

// version is set at build time: -ldflags "-X github.com/cairnlabs/cairn/app/owner.version=v1.2.3".
var version = ""

// Version is this build's version: the one set at build time, else the
// module version or VCS revision Go recorded, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
