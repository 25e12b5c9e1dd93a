package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/desktop"
	"github.com/cairnlabs/cairn/app/owner"
	"github.com/cairnlabs/cairn/memory"
)

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind := "headless"
			if desktop.Built {
				kind = "desktop"
			}
			fmt.Fprintf(c.Stdout, "cairn %s (%s build, %s, %s/%s, SQLite %s)\n", owner.Version(), kind, runtime.Version(), runtime.GOOS, runtime.GOARCH, memory.SQLiteVersion())
			return nil
		},
	}
}
