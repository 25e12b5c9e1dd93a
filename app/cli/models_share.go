package cli

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/cairnlabs/cairn/app/api"
)

// modelsShare is `cairn models share on|off`: the per-device offer of this
// device's models to the person's other paired devices.
func (c *cli) modelsShare() *cobra.Command {
	return &cobra.Command{
		Use:   "share [on|off]",
		Short: "Let your other paired devices use this device's models (off by default)",
		Long: `With sharing on, the process that owns this home (cairn serve, or the desktop
app) answers your other paired devices' model requests over the encrypted
sync connection, and only theirs: they list, chat with and embed through
this device's Ollama as NAME/MODEL. Nothing of their chats is stored here.
A device you remove is refused at once. Without an argument it says
whether sharing is on.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				s, err := c.Home().LoadSettings()
				if err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, shareNote(s.ShareModels))
				return nil
			}
			var on bool
			switch args[0] {
			case "on":
				on = true
			case "off":
			default:
				return usageError{fmt.Errorf("share takes on or off, not %q", args[0])}
			}
			if err := c.setShare(cmd.Context(), on); err != nil {
				return err
			}
			fmt.Fprintln(c.Stdout, shareNote(on))
			return nil
		},
	}
}

// setShare applies the setting in the running owner (which writes
// settings.json), or writes it for the next start.
func (c *cli) setShare(ctx context.Context, on bool) error {
	if oc, ok := c.ownerClient(); ok {
		var out api.Settings
		return oc.do(ctx, http.MethodPatch, "/api/v1/settings", nil, api.SettingsPatch{ShareModels: &on}, &out)
	}
	s, err := c.Home().LoadSettings()
	if err != nil {
		return err
	}
	s.ShareModels = on
	return c.Home().SaveSettings(s)
}

// shareNote says what sharing on or off means, for the CLI.
func shareNote(on bool) string {
	if on {
		return "Sharing on: your other paired devices can use this device's models, as NAME/MODEL. Nothing of their chats is stored here."
	}
	return fmt.Sprintf("Sharing off: this device's models are only for this device (%s turns it on).", "`cairn models share on`")
}
