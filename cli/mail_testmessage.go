package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/workspace"
)

const mailTestUsage = "keydesk mail test   (sends a test message now)"

// newMailTestCommand is `keydesk mail test`.
func newMailTestCommand(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:               "test",
		Short:             "Send a test message now",
		Args:              noArgs(mailTestUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runMailTest(env)
		},
	}
}

func runMailTest(env *Env) error {
	return withWorkspace(env, func(b *workspace.Workspace) error {
		d := b.Deliverer()
		msg, err := d.SendTest(env.context(), b.Clock().Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Sent a test message to %s (Message-ID <%s>).\n", strings.Join(msg.To, ", "), msg.ID)
		return nil
	})
}
