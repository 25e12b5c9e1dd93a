package app

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/memory"
)

// version is set at build time: -ldflags "-X github.com/cairnlabs/cairn/app.version=v1.2.3".
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

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind := "headless"
			if desktopBuild {
				kind = "desktop"
			}
			fmt.Fprintf(c.stdout, "cairn %s (%s build, %s, %s/%s, SQLite %s)\n", Version(), kind, runtime.Version(), runtime.GOOS, runtime.GOARCH, memory.SQLiteVersion())
			return nil
		},
	}
}
