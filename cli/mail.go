package cli

import "github.com/spf13/cobra"

// newMailCommand is `keydesk mail`: the SMTP settings of the digest.
func newMailCommand(env *Env) *cobra.Command {
	return group("mail", "Set up, show and test the digest e-mail (SMTP)", "set, show or test",
		newMailSetCommand(env),
		newMailShowCommand(env),
		newMailTestCommand(env),
	)
}
